"""Garbage collection tuned for long-running servers.

CPython's default thresholds collect the youngest generation every 700 new container objects,
and a full collection scans every object the process holds: the modules, the app, the caches.
Measured on the gateway during a ballot phase (docs/performance.md #51): 580 young collections
for ~4,000 requests, about a tenth of its CPU, and full collections of up to 63 ms, which stall
every request in flight. After start, what the process has built is collected once and frozen
(never scanned again), and young collections run less often.
"""

from __future__ import annotations

import gc

# youngest generation every 10,000 new containers (a few ms to scan); the older ones as before
THRESHOLDS = (10_000, 10, 10)


def settle_after_start() -> None:
    """Call once the process has started: its start-up objects leave the collector's work."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
