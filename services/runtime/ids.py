"""Ids unique across processes, made without asking the kernel for randomness each time.

A random prefix per process and a counter: a uuid4 per request asked the kernel for random
bytes each time, 2-3 % of the gateway's CPU per request on the bench machine. These ids name
requests and events; they are not secrets (tokens and session ids use `secrets`).
"""

from __future__ import annotations

import itertools
import os
import secrets


class _Ids:
    def __init__(self) -> None:
        self.reset()
        # a forked child starts its own series
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = secrets.token_hex(10)
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):012x}"


_ids = _Ids()


def new_id() -> str:
    """32 lower-case hex characters, like a uuid4's hex."""
    return _ids.new()
