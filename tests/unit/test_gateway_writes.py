"""The gateway's responses leave in one socket write per turn of the event loop, in order, and
nothing written is held back past the next turn or lost at a close."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.writes import _GatheringTransport


class Socket:
    """Stands in for the socket's transport: records what reaches it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after the close"
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 8000) if name == "sockname" else None


async def test_head_and_body_of_one_turn_leave_together() -> None:
    socket = Socket()
    gathering: Any = _GatheringTransport(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    gathering.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    gathering.write(b"{}")
    assert socket.writes == [] and gathering.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert socket.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    # what the server asks of the socket otherwise still reaches it
    assert gathering.get_extra_info("sockname") == ("127.0.0.1", 8000)


async def test_a_stream_goes_out_turn_by_turn() -> None:
    socket = Socket()
    gathering: Any = _GatheringTransport(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    for n in range(3):
        gathering.write(b"data: %d\n\n" % n)
        await asyncio.sleep(0)
        assert socket.writes[-1] == b"data: %d\n\n" % n, "an event is not held back for the next"
    assert len(socket.writes) == 3


async def test_a_close_sends_what_was_written_first() -> None:
    socket = Socket()
    gathering: Any = _GatheringTransport(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    gathering.writelines([b"HTTP/1.1 400 Bad Request\r\n", b"connection: close\r\n\r\n"])
    gathering.close()
    assert socket.closed
    assert socket.writes == [b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"]
    await asyncio.sleep(0)  # the turn's own flush finds nothing left to send
    assert len(socket.writes) == 1
