"""Run a process until SIGINT/SIGTERM, then stop it gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import uvloop

from services.runtime import heap, logs
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    async def stop(self) -> None: ...


async def retry(what: str, attempt: Callable[[], Awaitable[object]], seconds: float = 30.0) -> None:
    """Retry a start-up step while its server comes up (the launcher starts all at once)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            await attempt()
            return
        except Exception as exc:
            if loop.time() > deadline:
                raise
            log.info("waiting for %s: %r", what, exc)
            await asyncio.sleep(0.5)


def main(process: str, build: Callable[[Settings], Awaitable[Stoppable]]) -> None:
    """Run until SIGINT/SIGTERM, then stop gracefully within SHUTDOWN_TIMEOUT seconds: exit code
    0 after a complete stop, 1 when the time ran out (unacknowledged events and unpublished
    outboxes are then picked up by the other instances)."""
    settings = Settings.from_env()
    logs.configure(process, settings.log_level, settings.log_json)

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        app = await build(settings)
        heap.settle_after_start()
        log.info("%s started", process)
        await stop.wait()
        log.info("%s stopping", process)
        started = loop.time()
        try:
            await asyncio.wait_for(app.stop(), timeout=settings.shutdown_timeout)
        except TimeoutError:
            log.error("%s did not stop within %.0f s", process, settings.shutdown_timeout)
            return 1
        log.info("%s stopped after %.1f s", process, loop.time() - started)
        return 0

    # uvloop: the services spend their CPU in the event loop and the NATS and Mongo sockets
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        code = runner.run(run())
    if code:
        raise SystemExit(code)


async def cancel(task: asyncio.Task[Any] | None, timeout: float = 5.0) -> None:
    """Cancel a background task and wait a bounded time for it to end.

    A task cancelled inside a driver call can swallow the cancellation and carry on; stopping a
    process must never hang on that, so after `timeout` it is left behind with a warning.
    """
    if task is None or task.done():
        return
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("task %s did not stop within %.0f s", task.get_name(), timeout)
