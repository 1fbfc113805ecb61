"""Wire language shared by services and gateway: subjects, envelopes, requests, events.

Imports nothing else from the project, so any process can depend on it.
"""
