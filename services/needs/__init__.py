"""Needs service (see the issues for its capabilities)."""
