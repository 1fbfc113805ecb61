"""Request and event ids (services/runtime/ids.py): unique, in a forked child too, and shaped
like the uuid4 hex the logs and X-Request-ID have always carried."""

from __future__ import annotations

import os
import re

from services.runtime.ids import new_id


def test_ids_are_32_hex_characters_and_never_repeat() -> None:
    made = [new_id() for _ in range(50_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in made[:100] + made[-100:])
    assert len(set(made)) == len(made)


def test_a_forked_child_makes_ids_of_its_own() -> None:
    read, write = os.pipe()
    before = new_id()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    after = new_id()
    assert child[:20] != before[:20], "the child's prefix is its own"
    assert after[:20] == before[:20] and child != after
