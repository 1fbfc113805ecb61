"""Pure statistics over submitted responses: counts and percentages per option, numeric
summaries, matrix tables, free-text lists, date ranges. No I/O."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.contracts import surveys as c
from services.surveys.questionnaires import rules


@dataclass(frozen=True, slots=True)
class Answered:
    """One submitted response as the statistics need it: its answers and who gave them
    (None when results are anonymous)."""

    answers: dict[str, Any]
    by: str | None = None


def percent(count: int, n: int) -> float:
    return round(100.0 * count / n, 1) if n else 0.0


def _round(value: float) -> float:
    return round(value, 2)


def numeric_summary(values: Sequence[float]) -> c.NumericSummary:
    if not values:
        return c.NumericSummary(n=0)
    return c.NumericSummary(
        n=len(values),
        mean=_round(statistics.fmean(values)),
        median=_round(float(statistics.median(values))),
        min=float(min(values)),
        max=float(max(values)),
    )


def _counts(labels: Sequence[str], chosen: Sequence[Sequence[str]], n: int) -> list[c.OptionCount]:
    tally = dict.fromkeys(labels, 0)
    for picks in chosen:
        for pick in set(picks):
            if pick in tally:
                tally[pick] += 1
    return [
        c.OptionCount(label=label, count=tally[label], percent=percent(tally[label], n)) for label in labels
    ]


def question_result(q: c.Question, asked: Sequence[Answered]) -> c.QuestionResult:
    """`asked`: the responses that were shown the question."""
    given = [(r, r.answers[q.id]) for r in asked if not rules.is_empty(r.answers.get(q.id))]
    n = len(given)
    result = c.QuestionResult(id=q.id, kind=q.kind, label=q.label, section=q.section, asked=len(asked), n=n)
    values = [v for _, v in given]
    if q.kind == "single":
        result.options = _counts(q.options, [[v] for v in values if isinstance(v, str)], n)
    elif q.kind == "multiple":
        result.options = _counts(q.options, [v for v in values if isinstance(v, list)], n)
    elif q.kind == "scale":
        low, high = rules.scale_bounds(q)
        labels = [str(i) for i in range(low, high + 1)]
        result.options = _counts(labels, [[str(v)] for v in values], n)
        result.summary = numeric_summary([float(v) for v in values])
    elif q.kind == "number":
        result.summary = numeric_summary([float(v) for v in values])
    elif q.kind == "date":
        days = sorted(str(v) for v in values)
        result.earliest, result.latest = (days[0], days[-1]) if days else (None, None)
    elif q.kind == "text":
        result.texts = [c.TextAnswer(text=str(v), by=r.by) for r, v in given]
    elif q.kind == "matrix":
        result.columns = list(q.options)
        for row in q.rows:
            picks = [[v[row]] for v in values if isinstance(v, dict) and not rules.is_empty(v.get(row))]
            result.matrix.append(
                c.MatrixRow(label=row, n=len(picks), counts=_counts(q.options, picks, len(picks)))
            )
    return result


def results(questions: Sequence[c.Question], responses: Sequence[Answered]) -> list[c.QuestionResult]:
    shown = [(r, rules.visible(questions, r.answers)) for r in responses]
    return [question_result(q, [r for r, ids in shown if q.id in ids]) for q in questions]
