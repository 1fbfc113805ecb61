"""One NATS connection per process: reconnects forever and reports how healthy it is."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import nats
from nats.aio.client import Client

log = logging.getLogger(__name__)

# After this long without a connection the process reports itself unready.
UNHEALTHY_AFTER_SECONDS = 10.0


class Connection:
    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.disconnected_since: float | None = None
        self.closing = False
        # called after each reconnect: core NATS messages sent meanwhile did not arrive
        self.on_reconnected: list[Callable[[], None]] = []

    @property
    def healthy(self) -> bool:
        if self.nc.is_connected:
            return True
        since = self.disconnected_since
        return since is not None and time.monotonic() - since < UNHEALTHY_AFTER_SECONDS

    async def close(self) -> None:
        """Flush what is buffered and close. Endpoints and consumers are stopped before this,
        so there is nothing left for a drain to wait for."""
        self.closing = True
        if self.nc.is_closed:
            return
        if self.nc.is_connected:
            try:
                await self.nc.flush(timeout=2)
            except Exception:  # a broken connection cannot flush; closing is what matters
                log.debug("flush failed", exc_info=True)
        await self.nc.close()


async def connect(
    url: str, name: str, credentials: tuple[str, str] | None = None, *, echo: bool = True
) -> Connection:
    """`echo=False`: what this connection publishes never reaches its own subscriptions."""
    holder: list[Connection] = []

    async def disconnected() -> None:
        if holder and holder[0].closing:
            return
        if holder and holder[0].disconnected_since is None:
            holder[0].disconnected_since = time.monotonic()
            log.warning("nats disconnected")

    async def reconnected() -> None:
        log.info("nats reconnected")
        if holder:
            holder[0].disconnected_since = None
            for callback in holder[0].on_reconnected:
                try:
                    callback()
                except Exception:  # one listener's failure must not keep the others uninformed
                    log.exception("reconnect listener failed")

    async def error(exc: Exception) -> None:
        log.debug("nats error: %r", exc)

    user, password = credentials if credentials else (None, None)
    nc = await nats.connect(
        servers=url.split(","),
        name=name,
        user=user,
        password=password,
        # services must outlive any outage; the default gives up after about two minutes
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        connect_timeout=2,
        allow_reconnect=True,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
        error_cb=error,
        # buffer publishes made while reconnecting instead of failing them at once
        pending_size=8 * 1024 * 1024,
        no_echo=not echo,
    )
    conn = Connection(nc)
    holder.append(conn)
    return conn
