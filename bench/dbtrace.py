"""Sum up the database command records of `GDST_DB_TRACE` (services/runtime/dbtrace.py).

    python -m bench.dbtrace <folder> [--since T] [--until T]

prints, per process and command/collection/filter keys, how many commands were sent and their
summed and mean time to the answer; `--since`/`--until` take monotonic seconds (the first column
of the records) to look at one phase of a run.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path


def summarise(
    folder: Path, since: float = 0.0, until: float = float("inf")
) -> list[tuple[str, str, int, float]]:
    rows: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for path in sorted(folder.glob("*.tsv")):
        process = path.stem.rsplit("-", 1)[0]
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) < 6 or not since <= float(parts[0]) <= until:
                continue
            _, command, collection, keys, micros, _outcome = parts[:6]
            row = rows[(process, f"{command} {collection} [{keys}]")]
            row[0] += 1
            row[1] += int(micros) / 1e6
    return sorted(((p, c, int(n), s) for (p, c), (n, s) in rows.items()), key=lambda r: -r[3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dbtrace", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--since", type=float, default=0.0)
    parser.add_argument("--until", type=float, default=float("inf"))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    print(
        f"{'process':<20} {'command collection [filter keys]':<58} {'count':>7} {'sum s':>9} {'mean ms':>8}"
    )
    for process, command, count, total in summarise(args.folder, args.since, args.until)[: args.top]:
        print(f"{process:<20} {command:<58} {count:>7} {total:>9.1f} {1000 * total / count:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
