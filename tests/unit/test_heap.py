"""After start a process freezes what it built and collects young objects less often
(services/runtime/heap.py); checked in a child process, so this test's heap stays as it is."""

from __future__ import annotations

import json
import subprocess
import sys

from services.runtime.heap import THRESHOLDS

CHILD = """
import gc, json
from services.runtime import heap
before = gc.get_freeze_count()
heap.settle_after_start()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "thresholds": gc.get_threshold()}))
"""


def test_start_up_objects_are_frozen_and_young_collections_spaced() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(out.stdout)
    assert seen["before"] == 0
    assert seen["frozen"] > 1000, "the modules and objects built at start are out of the collector's way"
    assert tuple(seen["thresholds"]) == THRESHOLDS
