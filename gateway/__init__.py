"""HTTP gateway: German, accessible pages and the `/api/v1` JSON API, in front of the services."""
