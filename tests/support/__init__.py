"""Helpers for starting real servers in tests."""
