"""Shared plumbing for every process: settings, logging, NATS, Mongo, events, lifecycle."""
