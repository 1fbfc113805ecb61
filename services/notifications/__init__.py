"""Notifications service: the only place that decides who is told what, through which channel."""
