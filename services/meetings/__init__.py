"""Meetings service: single and recurring meetings, registrations, calendar feeds, reminders."""
