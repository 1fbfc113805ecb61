"""`make bench` in miniature, so the harness cannot rot: the real stack on its own ports, every
scenario with tiny counts, one round. Only correctness is checked here (no figure is judged):
every ballot counted, every submission in the progress, every "betrifft uns auch" counted,
all mails delivered, every answer 2xx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REGISTER = ROOT.parent / "shared" / "data" / "sachsen-anhalt-gebiete.csv"


@pytest.mark.skipif(not REGISTER.exists(), reason="the register extract is not beside the checkout")
def test_bench_smoke_run_passes_its_correctness_checks(tmp_path: Path) -> None:
    output = tmp_path / "bench-results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["failures"] == []
    for scenario in ("baseline_bare", "baseline_forward", "votes", "surveys", "support", "page", "similar"):
        assert results[scenario]["statuses"][0].keys() <= {"200", "201", "204"}, scenario
    assert results["fanout"]["received"] == [results["fanout"]["mails"]]
    assert results["live_delay"]["events"]["median"] >= 1
    assert "dot-vote ballots" in run.stdout
