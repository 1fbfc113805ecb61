"""A full disk under the database: writes are refused with a clear 503, nothing accepted is lost.

The test's FerretDB keeps its SQLite files on a small tmpfs mounted for this module only (root
is needed to mount; without it the module is skipped with that reason). The disk is filled with
a filler file while Kommunen save survey answers, then the filler is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime.settings import Settings
from tests.conftest import Stack
from tests.e2e.surveys_support import closes_in, kommune
from tests.faults.test_hardening_faults import problem_ok, stored
from tests.support import servers
from tests.support.figures import Recorder

pytestmark = [pytest.mark.faults, pytest.mark.hardening]

KOMMUNEN = ["15001", "15002", "15003"]
DISK_MB = 48


@pytest.fixture(scope="module")
def small_disk(workdir: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path = workdir / "small-disk"
    path.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture(scope="module")
def small_ferretdb(small_disk: Path, workdir: Path) -> Iterator[servers.Process]:
    proc = servers.ferretdb(small_disk)
    proc.log = workdir / f"ferretdb-small-{proc.port}.log"  # the log must not fill the disk too
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def settings(settings: Settings, small_ferretdb: servers.Process) -> Settings:
    return settings.with_(mongodb_url=f"mongodb://127.0.0.1:{small_ferretdb.port}/")


def fill(disk: Path) -> Path:
    """Write zeros until the disk is full."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(chunk)
            out.flush()
    return filler


async def test_full_disk_gives_503_and_keeps_what_was_accepted(
    stack: Stack, small_disk: Path, figures: Recorder
) -> None:
    ministry = await stack.login()
    survey = {
        "title": "Plattentest",
        "description": "Antworten, während die Platte voll ist.",
        "questions": [
            {"id": "n", "kind": "number", "label": "Zähler", "min": 0, "max": 100000},
            {"id": "t", "kind": "text", "label": "Text", "max": 10000, "multiline": True},
        ],
        "audience": {"kind": "organisations", "ids": KOMMUNEN},
        "respond_as": "organisation",
        "closes_at": closes_in(days=3),
    }
    created = await ministry.post("/api/v1/surveys", json=survey)
    assert created.status_code == 201, created.text
    survey_id = created.json()["id"]
    assert (await ministry.post(f"/api/v1/surveys/{survey_id}/publish")).status_code == 200
    members = {ags: await stack.login(kommune(ags)) for ags in KOMMUNEN}
    accepted: dict[str, int] = {}
    attempted: dict[str, int] = {}
    statuses: Counter[int] = Counter()
    bad: list[str] = []
    n = 0

    async def save_all() -> None:
        nonlocal n
        for ags, client in members.items():
            n += 1
            attempted[ags] = n
            body = {"answers": {"n": n, "t": f"{n} " + "Ausführliche Antwort. " * 400}}
            response = await client.put(f"/api/v1/surveys/{survey_id}/response", json=body)
            statuses[response.status_code] += 1
            if response.status_code == 200:
                accepted[ags] = n
            elif not problem_ok(response):
                bad.append(f"{response.status_code} {response.text[:300]}")

    await save_all()
    filler = fill(small_disk)
    refused_at = None
    try:
        for round_ in range(60):
            await save_all()
            if statuses[503] or bad:
                refused_at = round_
                break
    finally:
        filler.unlink()
    assert bad == [], "a full disk is a 503 with problem details and Retry-After, never a 500"
    assert refused_at is not None, "the full disk was noticed"
    for _ in range(3):
        await save_all()
    docs = {d["_id"].split(":", 1)[1]: d for d in await stored(stack, "surveys", "survey_drafts", {})}
    lost = [a for a in KOMMUNEN if not (accepted[a] <= docs[a]["answers"]["n"] <= attempted[a])]
    assert all(accepted[a] == attempted[a] for a in KOMMUNEN), "saving works again once there is space"
    figures.record("faults", "disk full: saves refused with 503", statuses[503])
    figures.record("faults", "disk full: 500s", statuses[500])
    figures.record("faults", "disk full: records lost", len(lost))
    assert lost == []
    await asyncio.sleep(0)
