"""Pure statistics and progress of surveys, on hand-counted examples."""

from __future__ import annotations

from typing import Any

import msgspec

from services.contracts import surveys as c
from services.surveys.questionnaires import progress, statistics


def q(id: str, kind: str, **kw: Any) -> c.Question:
    return msgspec.convert({"id": id, "kind": kind, "label": id, **kw}, c.Question)


QUESTIONS = [
    q("dms", "single", options=["Ja", "Nein"]),
    q("seit", "number", show_if={"question": "dms", "equals": "Ja"}),
    q("bereiche", "multiple", options=["Bau", "Kasse", "Personal"]),
    q("note", "scale"),
    q("start", "date"),
    q("reife", "matrix", rows=["E-Akte", "Rechnung"], options=["niedrig", "hoch"]),
    q("bemerkung", "text"),
]
RESPONSES = [
    statistics.Answered(
        {
            "dms": "Ja",
            "seit": 2019,
            "bereiche": ["Bau", "Kasse"],
            "note": 4,
            "start": "2024-05-01",
            "reife": {"E-Akte": "hoch", "Rechnung": "niedrig"},
            "bemerkung": "Gut",
        },
        by="Halle",
    ),
    statistics.Answered(
        {"dms": "Ja", "seit": 2021, "bereiche": ["Kasse"], "note": 2, "reife": {"E-Akte": "hoch"}},
        by="Magdeburg",
    ),
    statistics.Answered({"dms": "Nein", "note": 5, "start": "2023-01-15"}, by="Dessau"),
    statistics.Answered({"bemerkung": "Noch offen"}, by=None),
]


def by_id() -> dict[str, c.QuestionResult]:
    return {r.id: r for r in statistics.results(QUESTIONS, RESPONSES)}


class TestResults:
    def test_single_counts_and_percentages(self) -> None:
        dms = by_id()["dms"]
        assert (dms.asked, dms.n) == (4, 3)
        assert [(o.label, o.count, o.percent) for o in dms.options] == [("Ja", 2, 66.7), ("Nein", 1, 33.3)]

    def test_conditional_question_counts_only_those_it_was_shown_to(self) -> None:
        seit = by_id()["seit"]
        assert (seit.asked, seit.n) == (2, 2)
        assert seit.summary == c.NumericSummary(n=2, mean=2020.0, median=2020.0, min=2019.0, max=2021.0)

    def test_multiple_percent_of_those_who_answered(self) -> None:
        bereiche = by_id()["bereiche"]
        assert bereiche.n == 2
        assert [(o.label, o.count, o.percent) for o in bereiche.options] == [
            ("Bau", 1, 50.0),
            ("Kasse", 2, 100.0),
            ("Personal", 0, 0.0),
        ]

    def test_scale_distribution_and_summary(self) -> None:
        note = by_id()["note"]
        assert [o.count for o in note.options] == [0, 1, 0, 1, 1]
        assert [o.label for o in note.options] == ["1", "2", "3", "4", "5"]
        assert note.summary == c.NumericSummary(n=3, mean=3.67, median=4.0, min=2.0, max=5.0)

    def test_matrix_table(self) -> None:
        reife = by_id()["reife"]
        assert reife.columns == ["niedrig", "hoch"]
        assert [(r.label, r.n, [x.count for x in r.counts]) for r in reife.matrix] == [
            ("E-Akte", 2, [0, 2]),
            ("Rechnung", 1, [1, 0]),
        ]

    def test_dates_and_texts(self) -> None:
        results = by_id()
        assert (results["start"].earliest, results["start"].latest) == ("2023-01-15", "2024-05-01")
        assert [(t.text, t.by) for t in results["bemerkung"].texts] == [
            ("Gut", "Halle"),
            ("Noch offen", None),
        ]

    def test_empty(self) -> None:
        results = statistics.results(QUESTIONS, [])
        assert all(r.n == 0 and r.asked == 0 for r in results)
        assert results[3].summary == c.NumericSummary(n=0)
        assert statistics.percent(0, 0) == 0.0


def addressee(org_id: str, kreis: str | None, person: str | None = None) -> dict[str, Any]:
    org = {"id": org_id, "name": f"Kommune {org_id}", "kind": "gemeinde", "ags": org_id, "kreis": kreis}
    org["kreis_name"] = f"Kreis {kreis}" if kreis else None
    return {
        "id": person or org_id,
        "organisation": org,
        "person": {"id": person, "name": person.title()} if person else None,
    }


class TestProgress:
    ADDRESSED = [
        addressee("15081001", "15081"),
        addressee("15081002", "15081"),
        addressee("15082001", "15082"),
        addressee("15003", "15003"),
        addressee("99", None),
    ]
    RESPONSES = {
        "15081001": {"state": "submitted", "submitted_at": None},
        "15082001": {"state": "draft"},
        "15003": {"state": "submitted"},
    }

    def test_counts_and_groups_by_kreis(self) -> None:
        p = progress.progress("s1", "organisation", self.ADDRESSED, self.RESPONSES)
        assert (p.addressed, p.submitted, p.drafts, p.nothing) == (5, 2, 1, 2)
        assert [
            (g.kreis.id if g.kreis else None, g.addressed, g.submitted, g.drafts, g.nothing) for g in p.groups
        ] == [
            ("15003", 1, 1, 0, 0),
            ("15081", 2, 1, 0, 1),
            ("15082", 1, 0, 1, 0),
            (None, 1, 0, 0, 1),
        ]
        assert sorted((e.organisation.id, e.state) for e in p.missing) == [
            ("15081002", "none"),
            ("15082001", "draft"),
            ("99", "none"),
        ]

    def test_missing_ids_leave_out_who_submitted(self) -> None:
        orgs, people, drafts = progress.missing_ids(self.ADDRESSED, self.RESPONSES)
        assert orgs == ["15081002", "15082001", "99"] and people == [] and drafts == ["15082001"]

    def test_people_are_missing_one_by_one(self) -> None:
        addressed = [addressee("15003", "15003", "anna"), addressee("15003", "15003", "bert")]
        orgs, people, drafts = progress.missing_ids(addressed, {"anna": {"state": "submitted"}})
        assert (orgs, people, drafts) == (["15003"], ["bert"], [])
