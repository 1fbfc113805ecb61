"""`python -m gateway`: serve the gateway with uvicorn on GATEWAY_HOST:GATEWAY_PORT."""

from __future__ import annotations

from typing import Any

import uvicorn

from gateway.app import create_app
from services.runtime import logs
from services.runtime.settings import Settings


def serve(app: Any, host: str, port: int) -> None:
    """The one way an ASGI app is served here; the benchmark's bare baseline uses it too, so
    both run on the same server with the same worker count.

    uvloop and httptools (C parsers and event loop) instead of asyncio's loop and the pure
    Python h11: the bare JSON POST baseline doubles with them (docs/performance.md)."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


def main() -> None:
    settings = Settings.from_env()
    logs.configure("gateway", settings.log_level, settings.log_json)
    serve(create_app(settings), settings.gateway_host, settings.gateway_port)


if __name__ == "__main__":
    main()
