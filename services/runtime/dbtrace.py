"""Optional record of every database command a process sends, for profiling.

With `GDST_DB_TRACE=<folder>` each process appends one line per command to
`<folder>/<appname>-<pid>.tsv`: monotonic time, command, collection, the filter's keys and the
time to the answer in microseconds. `python -m bench.dbtrace <folder>` sums the lines up
(docs/performance.md, "Profiles"). Off unless the variable is set; never in a deployment.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, TextIO

from pymongo import monitoring

ENV = "GDST_DB_TRACE"


def _keys(command: Any, name: str) -> str:
    spec: Any = None
    if name in ("find", "count", "delete", "findAndModify"):
        spec = command.get("filter") or command.get("query")
        if name == "delete":
            spec = (command.get("deletes") or [{}])[0].get("q")
    elif name == "update":
        spec = (command.get("updates") or [{}])[0].get("q")
    elif name == "aggregate":
        first = (command.get("pipeline") or [{}])[0]
        spec = first.get("$match") if isinstance(first, dict) else None
    if not isinstance(spec, dict):
        return ""
    return ",".join(sorted(spec))


class _Listener(monitoring.CommandListener):
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._open: dict[int, tuple[str, str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:  # type: ignore[override]
        name = event.command_name
        collection = event.command.get(name)
        self._open[event.request_id] = (
            name,
            collection if isinstance(collection, str) else "",
            _keys(event.command, name),
        )

    def _done(self, request_id: int, micros: int, outcome: str) -> None:
        found = self._open.pop(request_id, None)
        if found is None:
            return
        name, collection, keys = found
        self.out.write(f"{time.monotonic():.3f}\t{name}\t{collection}\t{keys}\t{micros}\t{outcome}\n")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id, event.duration_micros, "ok")

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id, event.duration_micros, "failed")


def listeners(appname: str) -> list[monitoring.CommandListener]:
    folder = os.environ.get(ENV)
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = open(Path(folder) / f"{appname}-{os.getpid()}.tsv", "a", buffering=1)
    return [_Listener(out)]
