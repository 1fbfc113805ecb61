"""`python -m gateway`: serve the gateway with uvicorn on GATEWAY_HOST:GATEWAY_PORT.

SIGTERM/SIGINT stop it gracefully: uvicorn closes the listening socket, lets the requests in
flight finish (at most SHUTDOWN_TIMEOUT - 2 seconds), runs the
lifespan shutdown (the NATS connection is flushed and closed) and the process exits with 0.
Live result streams end at once (the browser's EventSource reconnects, to another gateway).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from gateway.app import create_app
from services.runtime import logs
from services.runtime.settings import Settings


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own handlers raise the signal again after the shutdown, so the process would
        # end "killed by SIGTERM" instead of with 0 after a clean stop; `serve` handles them
        yield


async def serve(settings: Settings) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout) - 2),
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        # a second signal skips the wait for requests in flight, as with uvicorn's own handler
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True
        gateway = getattr(app.state, "gateway", None)
        if gateway is not None:
            gateway.stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await server.serve()


def main() -> None:
    settings = Settings.from_env()
    logs.configure("gateway", settings.log_level, settings.log_json)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
