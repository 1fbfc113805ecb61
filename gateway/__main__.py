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
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
import uvloop

from gateway.app import create_app
from gateway.writes import GatheringHttpToolsProtocol
from services.runtime import heap, logs
from services.runtime.settings import Settings


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own handlers raise the signal again after the shutdown, so the process would
        # end "killed by SIGTERM" instead of with 0 after a clean stop; `serve_app` handles them
        yield


async def serve_app(
    app: Any, host: str, port: int, *, graceful_seconds: int = 8, on_stop: Callable[[], None] | None = None
) -> None:
    """The one way an ASGI app is served here; the benchmark's bare baseline uses it too, so
    both run on the same server with the same worker count.

    httptools (a C parser) instead of the pure Python h11, on a uvloop loop (see `run`): the
    bare JSON POST baseline doubles with them (docs/performance.md); each response in one
    socket write (gateway/writes.py)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=GatheringHttpToolsProtocol,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=graceful_seconds,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        # a second signal skips the wait for requests in flight, as with uvicorn's own handler
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True
        if on_stop is not None:
            on_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)

    async def settle_when_started() -> None:
        while not server.started and not server.should_exit:  # noqa: ASYNC110 - uvicorn offers a flag only
            await asyncio.sleep(0.05)
        heap.settle_after_start()

    settling = asyncio.create_task(settle_when_started())
    try:
        await server.serve()
    finally:
        settling.cancel()


def run(app: Any, host: str, port: int, **kw: Any) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_app(app, host, port, **kw))


def serve(app: Any, host: str, port: int) -> None:
    """Serve any ASGI app as the gateway is served (used by bench/baseline.py)."""
    run(app, host, port)


def main() -> None:
    settings = Settings.from_env()
    logs.configure("gateway", settings.log_level, settings.log_json)
    app = create_app(settings)

    def stopping() -> None:
        gateway = getattr(app.state, "gateway", None)
        if gateway is not None:
            gateway.stopping.set()

    run(
        app,
        settings.gateway_host,
        settings.gateway_port,
        graceful_seconds=max(1, int(settings.shutdown_timeout) - 2),
        on_stop=stopping,
    )


if __name__ == "__main__":
    main()
