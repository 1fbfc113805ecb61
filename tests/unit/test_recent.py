"""The short memory of hot documents (services/runtime/recent.py)."""

from __future__ import annotations

import time

import pytest

from services.runtime.recent import Recent


def test_a_value_is_kept_for_its_time_only(monkeypatch: pytest.MonkeyPatch) -> None:
    recent: Recent[str, dict[str, str]] = Recent(0.5)
    recent.put("poll-1", {"state": "open"})
    assert recent.get("poll-1") == {"state": "open"}
    later = time.monotonic() + 0.6
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert recent.get("poll-1") is None, "read afresh after its time"


def test_a_dropped_value_is_read_afresh_and_the_memory_stays_bounded() -> None:
    recent: Recent[str, int] = Recent(10.0, max_entries=4)
    recent.put("a", 1)
    recent.drop("a")
    assert recent.get("a") is None
    for i in range(9):
        recent.put(str(i), i)
    assert len(recent._entries) <= 4
    assert recent.get("8") == 8
