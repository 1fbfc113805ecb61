"""The short memory of hot documents (services/runtime/recent.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.runtime.recent import Recent, Schedule


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


def test_expired_values_are_let_go_without_waiting_for_a_full_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    recent: Recent[str, int] = Recent(1.0, max_entries=1000)
    for i in range(218):  # a burst of responses
        recent.put(f"r{i}", i)
    later = time.monotonic() + 1.5
    monkeypatch.setattr(time, "monotonic", lambda: later)
    recent.put("next", 1)  # the next burst, well after the first expired
    assert list(recent._entries) == ["next"]


async def test_callers_asking_at_once_share_one_read() -> None:
    recent: Recent[str, str] = Recent(1.0)
    reads = 0
    gate = asyncio.Event()

    async def load() -> str:
        nonlocal reads
        reads += 1
        await gate.wait()
        return "survey"

    callers = [asyncio.create_task(recent.get_or_load("s1", load)) for _ in range(64)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*callers) == ["survey"] * 64
    assert reads == 1
    assert await recent.get_or_load("s1", load) == "survey" and reads == 1, "kept for its time"


async def test_a_failed_read_reaches_every_caller_and_is_not_kept() -> None:
    recent: Recent[str, str] = Recent(1.0)

    async def broken() -> str:
        await asyncio.sleep(0)
        raise ConnectionError("database away")

    results = await asyncio.gather(
        *(recent.get_or_load("s1", broken) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)

    async def found() -> str:
        return "survey"

    assert await recent.get_or_load("s1", found) == "survey", "the next caller reads afresh"


async def test_not_found_is_shared_but_not_kept() -> None:
    recent: Recent[str, str] = Recent(1.0)

    async def missing() -> str | None:
        return None

    assert await recent.get_or_load("gone", missing) is None
    assert recent.get("gone") is None


async def test_cleared_values_and_reads_under_way_are_not_kept() -> None:
    recent: Recent[str, str] = Recent(10.0)
    recent.put("survey-1", "open")
    gate = asyncio.Event()

    async def slow_read() -> str:
        await gate.wait()
        return "open (read before the change)"

    loading = asyncio.create_task(recent.get_or_load("survey-2", slow_read))
    await asyncio.sleep(0)
    recent.clear()  # e.g. the events telling of changes may have been missed
    gate.set()
    assert await loading == "open (read before the change)", "the caller still gets its answer"
    assert recent.get("survey-1") is None
    assert recent.get("survey-2") is None, "a read begun before the clear is not kept"


async def test_a_schedule_is_read_again_after_a_change_or_its_time() -> None:
    schedule: Schedule[list[str]] = Schedule(60.0)
    reads: list[int] = []

    async def load() -> list[str]:
        reads.append(1)
        return [f"poll-{len(reads)}"]

    assert await schedule.get(load, recent=True) == ["poll-1"], "nothing kept yet: read"
    assert await schedule.get(load, recent=True) == ["poll-1"], "kept"
    assert await schedule.get(load, recent=False) == ["poll-2"], "a caller may insist on a read"
    schedule.changed()  # a poll opened here or elsewhere
    assert await schedule.get(load, recent=True) == ["poll-3"]
    schedule.seconds = 0.0
    assert await schedule.get(load, recent=True) == ["poll-4"], "too old"


async def test_a_schedule_read_overtaken_by_a_change_is_not_kept() -> None:
    schedule: Schedule[list[str]] = Schedule(60.0)
    gate = asyncio.Event()

    async def slow_load() -> list[str]:
        await gate.wait()
        return ["read before the change"]

    loading = asyncio.create_task(schedule.get(slow_load, recent=True))
    await asyncio.sleep(0)
    schedule.changed()
    gate.set()
    assert await loading == ["read before the change"], "the caller still gets its answer"

    async def fresh() -> list[str]:
        return ["read after the change"]

    assert await schedule.get(fresh, recent=True) == ["read after the change"]
