"""`make bench`: measure what can be measured today, print a table, write bench-results.json.

Each figure is the median of 3 runs with min and max, except the fan-out (one run: it starts and
stops a whole stack). The benchmarks issue adds the load scenarios and the baselines.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path
from typing import Any

from bench import counting, fanout, similarity

RESULTS = Path(__file__).resolve().parents[1] / "bench-results.json"


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def main() -> None:
    results: dict[str, Any] = {}
    quality = similarity.run()
    results["similar_needs"] = {
        "precision_at_3": quality.precision_at_3,
        "hit_rate_at_3": quality.hit_rate_at_3,
        "queries": quality.queries,
        "pairs": quality.pairs,
    }
    recounts = [counting.measure(100_000, 10) for _ in range(3)]
    results["recount_100k_ranked_ballots_10_options_s"] = {
        method: spread([r[method] for r in recounts]) for method in recounts[0]
    }
    run = asyncio.run(fanout.measure())
    results["notification_fanout"] = {
        "kommunen": run.kommunen,
        "mails": run.mails,
        "received": run.received,
        "seconds_until_all_mails": run.seconds,
        "seconds_until_first_mail": run.first_mail,
    }
    RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")

    rows = [
        ("similar needs: precision@3 (own German pairs)", f"{quality.precision_at_3:.3f}", "≥ 0.8"),
        ("similar needs: hit rate@3", f"{quality.hit_rate_at_3:.3f}", ""),
    ]
    for method, figures in results["recount_100k_ranked_ballots_10_options_s"].items():
        rows.append(
            (
                f"recount 100,000 ranked ballots, 10 options ({method})",
                f"{figures['median']:.3f} s (min {figures['min']:.3f}, max {figures['max']:.3f})",
                "< 1 s",
            )
        )
    rows.append(
        (
            f"survey published to {run.kommunen} Kommunen: {run.received}/{run.mails} mails at the SMTP server",
            f"{run.seconds:.1f} s (first after {run.first_mail:.1f} s)",
            "≤ 30 s",
        )
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':<36}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<36}  {target}")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
