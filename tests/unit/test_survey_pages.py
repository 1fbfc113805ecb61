"""Helpers of the survey pages: German number input, form fields to answers, chart geometry,
text summaries."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.datastructures import FormMultiDict

from gateway.web import surveys as pages
from services.contracts import surveys as c


def q(id: str, kind: str, **kw: Any) -> c.Question:
    return msgspec.convert({"id": id, "kind": kind, "label": id, **kw}, c.Question)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("3,5", 3.5),
        ("3.5", 3.5),
        ("1.000", 1000),
        ("1.234,5", 1234.5),
        ("-2", -2),
        ("", None),
        ("drei", "drei"),
    ],
)
def test_parse_number(text: str, value: Any) -> None:
    assert pages._parse_number(text) == value


def test_answers_from_form_and_back() -> None:
    questions = [
        q("a", "single", options=["Ja", "Nein"]),
        q("b", "multiple", options=["x", "y", "z"]),
        q("c", "number"),
        q("d", "scale"),
        q("e", "matrix", rows=["r1", "r2"], options=["lo", "hi"]),
        q("f", "text"),
        q("g", "date"),
    ]
    form = FormMultiDict(
        [
            ("a-a", "Ja"),
            ("a-b", "x"),
            ("a-b", "z"),
            ("a-c", "2,5"),
            ("a-d", "4"),
            ("a-e-1", "hi"),
            ("a-f", "  "),
            ("a-g", "2025-01-31"),
        ]
    )
    answers = pages.answers_from_form(questions, form)
    assert answers == {"a": "Ja", "b": ["x", "z"], "c": 2.5, "d": 4, "e": {"r2": "hi"}, "g": "2025-01-31"}
    assert pages.form_values(answers)["c"] == "2,5"
    assert [pages.anchor(x) for x in questions] == ["f-a-0", "f-b-0", "f-c", "f-d-0", "f-e-0-0", "f-f", "f-g"]


def test_bar_chart_scales_to_the_largest_count() -> None:
    chart = pages.bar_chart(
        [
            c.OptionCount(label="Ja", count=4, percent=80.0),
            c.OptionCount(label="Nein", count=1, percent=20.0),
            c.OptionCount(label="Sehr lange Antwortmöglichkeit mit vielen Wörtern", count=0, percent=0.0),
        ]
    )
    widths = [b["width"] for b in chart["bars"]]
    assert widths == [pages.BAR_AREA, pages.BAR_AREA // 4, 0]
    assert chart["bars"][1]["value"] == "1 (20 %)" and chart["bars"][2]["label"].endswith("…")
    assert pages.bar_chart([])["bars"] == []


def test_summary_names_the_most_frequent_or_the_tie() -> None:
    result = c.QuestionResult(
        id="a",
        kind="single",
        label="a",
        asked=4,
        n=3,
        options=[
            c.OptionCount(label="Ja", count=2, percent=66.7),
            c.OptionCount(label="Nein", count=1, percent=33.3),
        ],
    )
    assert (
        pages.summary_text(result) == "3 von 4 Befragten haben geantwortet. Am häufigsten: „Ja“ (2, 66,7 %)."
    )
    result.options[1].count = 2
    assert "Gleich häufig: „Ja“, „Nein“ (je 2)." in pages.summary_text(result)
    numeric = c.QuestionResult(
        id="n",
        kind="number",
        label="n",
        asked=2,
        n=2,
        summary=c.NumericSummary(n=2, mean=2.25, median=2.25, min=1, max=3.5),
    )
    assert "Mittelwert 2,25, Median 2,25, kleinster Wert 1, größter Wert 3,5." in pages.summary_text(numeric)
    assert (
        pages.summary_text(c.QuestionResult(id="x", kind="text", label="x", asked=3, n=0))
        == "Keine Antworten."
    )


def test_condition_note() -> None:
    source = q("dms", "multiple", label="Bereiche", options=["Bau", "Kasse"])
    target = q("t", "text", show_if={"question": "dms", "equals": "Kasse"})
    assert (
        pages.condition_text(target, {"dms": source})
        == "Nur beantworten, wenn Sie bei „Bereiche“ „Kasse“ ausgewählt haben."
    )
    assert pages.condition_text(source, {}) is None


def test_german_numbers() -> None:
    assert [pages.number(v) for v in (None, 3, 3.0, 33.35, 1234.5)] == ["–", "3", "3", "33,4", "1.234,5"]
