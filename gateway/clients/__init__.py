"""Typed calls to the services over NATS."""
