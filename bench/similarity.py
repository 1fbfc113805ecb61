"""Precision@3 of the similar-needs search on the project's own labelled German pairs.

Run: `.venv/bin/python -m bench.similarity`
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from services.needs.similarity import Document, Evaluation, evaluate

DATA = Path(__file__).parent / "data"


def load() -> tuple[list[Document], list[tuple[str, str, bool]]]:
    with (DATA / "needs_corpus.csv").open(encoding="utf-8") as handle:
        corpus = [Document(r["id"], r["title"], r["description"]) for r in csv.DictReader(handle)]
    with (DATA / "needs_pairs.csv").open(encoding="utf-8") as handle:
        pairs = [(r["query"], r["need_id"], r["similar"] == "1") for r in csv.DictReader(handle)]
    return corpus, pairs


def run() -> Evaluation:
    corpus, pairs = load()
    return evaluate(corpus, pairs)


if __name__ == "__main__":
    result = run()
    print(
        json.dumps(
            {
                "similar_needs": {
                    "precision_at_3": round(result.precision_at_3, 3),
                    "hit_rate_at_3": round(result.hit_rate_at_3, 3),
                    "queries": result.queries,
                    "pairs": result.pairs,
                }
            },
            indent=2,
        )
    )
