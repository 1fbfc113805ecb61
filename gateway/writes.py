"""One socket write per response instead of two.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and the body in a second write. Each write is a system call, and on
loopback each one wakes the reader: the client reads the head, sleeps, and wakes again for the
body. Both writes happen in the same turn of the event loop (the app sends the two messages one
after the other), so the protocol below hands uvicorn a transport that gathers what is written
in one turn and sends it at the start of the next. A streamed response (the live results) still
goes out chunk by chunk, each a turn later. docs/performance.md #76 has the figures.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _GatheringTransport:
    """Delegates to the socket's transport; `write` is gathered until the loop's next turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        gathering: Any = _GatheringTransport(transport, asyncio.get_running_loop())
        super().connection_made(gathering)
