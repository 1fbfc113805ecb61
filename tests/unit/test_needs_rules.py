from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.similarity import run as evaluate_similarity
from services.needs import rules
from services.needs.similarity import Document, Index, stem, tokens
from services.runtime.errors import BadRequest

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def signup(org: str, minute: int, withdrawn: bool = False) -> dict[str, Any]:
    return {
        "_id": f"p:{org}",
        "organisation": {"id": org},
        "signed_up_at": T0 + timedelta(minutes=minute),
        "withdrawn_at": T0 if withdrawn else None,
    }


class TestPlacement:
    def test_first_come_first_served_then_waitlist(self) -> None:
        placed = rules.place([signup("c", 3), signup("a", 1), signup("b", 2), signup("d", 4)], 2, None)
        assert [(p.doc["organisation"]["id"], p.status, p.position) for p in placed] == [
            ("a", "confirmed", 1),
            ("b", "confirmed", 2),
            ("c", "waitlisted", 1),
            ("d", "waitlisted", 2),
        ]

    def test_withdrawal_moves_the_first_waitlisted_up(self) -> None:
        placed = rules.place([signup("a", 1, withdrawn=True), signup("b", 2), signup("c", 3)], 1, None)
        assert [(p.doc["organisation"]["id"], p.status) for p in placed] == [
            ("b", "confirmed"),
            ("c", "waitlisted"),
            ("a", "withdrawn"),
        ]
        assert rules.seats_left(placed, 1) == 0

    def test_same_time_is_ordered_by_id(self) -> None:
        placed = rules.place([signup("z", 1), signup("m", 1)], 1, None)
        assert placed[0].doc["organisation"]["id"] == "m"

    def test_selection_decides(self) -> None:
        placed = rules.place([signup("a", 1), signup("b", 2)], 1, {"selected": ["b"]})
        assert [(p.doc["organisation"]["id"], p.status) for p in placed] == [
            ("a", "declined"),
            ("b", "selected"),
        ]


class TestStatus:
    @pytest.mark.parametrize(
        ("old", "new", "ok"),
        [
            ("neu", "in_pruefung", True),
            ("in_pruefung", "in_umsetzung", True),
            ("in_umsetzung", "geloest", True),
            ("neu", "abgelehnt", True),
            ("neu", "geloest", False),
            ("geloest", "abgelehnt", False),
            ("abgelehnt", "in_pruefung", True),
            ("neu", "neu", False),
        ],
    )
    def test_transitions(self, old: str, new: str, ok: bool) -> None:
        assert rules.allowed(old, new) is ok


class TestCursor:
    def test_round_trip(self) -> None:
        key = rules.sort_key("supporters", 3, 1000, T0, "abc")
        assert rules.decode_cursor(rules.encode_cursor(key)) == key

    @pytest.mark.parametrize("bad", ["!!!", "e30", "WyJhIiwgeyJ4IjogMX1d"])
    def test_rejects_garbage(self, bad: str) -> None:
        with pytest.raises(BadRequest):
            rules.decode_cursor(bad)


class TestGermanText:
    def test_folding_stemming_and_abbreviations(self) -> None:
        assert stem("antraege") == stem("antrag")
        assert tokens("Straße") == tokens("Strasse")
        assert tokens("DMS") == tokens("Dokument Management System")
        assert "akte" in tokens("E-Akte") and "elektronisch" in tokens("E-Akte")
        assert tokens("für die und der") == []

    def test_compound_meets_its_parts(self) -> None:
        index = Index.build(
            [Document("1", "Dokumentenmanagementsystem", "Ablage"), Document("2", "Hundesteuer", "Hunde")]
        )
        assert index.query("Dokumentenmanagement einführen")[0][0] == "1"

    def test_precision_at_3_on_the_labelled_pairs(self) -> None:
        result = evaluate_similarity()
        assert result.pairs >= 40
        assert result.precision_at_3 >= 0.8, result
        assert result.hit_rate_at_3 >= 0.9, result
