"""Time the recount of many ranked ballots (default: 100,000 ballots over 10 options).

    .venv/bin/python -m bench.counting [ballots] [options]

`measure()` returns the timings in seconds, for a benchmark command to call. No assertion on
time lives in the tests; this prints the numbers.
"""

from __future__ import annotations

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
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    options = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    for name, seconds in measure(count, options).items():
        print(f"{name}: {count} ranked ballots over {options} options recounted in {seconds:.3f} s")


if __name__ == "__main__":
    main()
