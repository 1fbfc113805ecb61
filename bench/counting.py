"""Time the recount of many ranked ballots (default: 100,000 ballots over 10 options).

    .venv/bin/python -m bench.counting [ballots] [options] [--json]

`measure()` returns the timings in seconds; `make bench` runs this module as its own process
(`--json`), so the pure module is timed without the bench process's own large heap, whose
garbage collections made the same recount take 0.3-0.55 s there against 0.21 s alone. No
assertion on time lives in the tests; this prints the numbers.
"""

from __future__ import annotations

import json
import random
import sys
import time

from services.surveys.polls import counting


def ballots(count: int, options: int, seed: int = 6) -> list[list[int]]:
    rnd = random.Random(seed)  # noqa: S311 - test data, not secrets
    base = list(range(options))
    result = []
    for _ in range(count):
        rnd.shuffle(base)
        # every fifth ballot is a partial ranking
        result.append(base[: rnd.randint(1, options)] if rnd.random() < 0.2 else list(base))
    return result


def measure(count: int = 100_000, options: int = 10) -> dict[str, float]:
    rankings = ballots(count, options)
    timings: dict[str, float] = {}
    for name, method in (("schulze", counting.schulze), ("borda", counting.borda)):
        start = time.perf_counter()
        method(options, rankings)
        timings[name] = time.perf_counter() - start
    return timings


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--json"]
    count = int(args[0]) if args else 100_000
    options = int(args[1]) if len(args) > 1 else 10
    timings = measure(count, options)
    if "--json" in sys.argv:
        print(json.dumps(timings))
        return
    for name, seconds in timings.items():
        print(f"{name}: {count} ranked ballots over {options} options recounted in {seconds:.3f} s")


if __name__ == "__main__":
    main()
