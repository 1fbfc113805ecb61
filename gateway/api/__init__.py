"""`/api/v1` JSON endpoints and the health probes."""
