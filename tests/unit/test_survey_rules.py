"""Pure rules of questionnaires: definitions, conditions (with chains) and answers per kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from services.contracts import surveys as c
from services.surveys.questionnaires import rules


def q(id: str, kind: str, **kw: Any) -> c.Question:
    return msgspec.convert(
        {"id": id, "kind": kind, "label": kw.pop("label", f"Frage {id}"), **kw}, c.Question
    )


def fields(errors: list[Any]) -> dict[str, str]:
    return {e.field: e.message for e in errors}


SINGLE = q("hat_dms", "single", options=["Ja", "Nein", "Geplant"], required=True)
MULTIPLE = q("bereiche", "multiple", options=["Bauamt", "Standesamt", "Kasse", "Personal"], min=1, max=2)
SHORT = q("name", "text", max=20)
LONG = q("bemerkung", "text", multiline=True, min=5)
NUMBER = q("stellen", "number", min=0, max=100, required=True)
SCALE = q("zufrieden", "scale", min=1, max=5, min_label="gar nicht", max_label="sehr")
SCALE10 = q("empfehlung", "scale", min=0, max=10)
DATE = q("start", "date")
MATRIX = q(
    "reife", "matrix", rows=["E-Akte", "Rechnung"], options=["niedrig", "mittel", "hoch"], required=True
)
ALL = [SINGLE, MULTIPLE, SHORT, LONG, NUMBER, SCALE, SCALE10, DATE, MATRIX]


class TestDefinition:
    def test_every_kind_well_formed_passes(self) -> None:
        assert rules.check_questions(ALL) == []

    @pytest.mark.parametrize(
        ("question", "field", "needle"),
        [
            (q("a", "single", options=["Ja"]), "questions[0].options", "mindestens 2"),
            (q("a", "single", options=["Ja", "ja "]), "questions[0].options", "doppelt"),
            (q("a", "multiple", options=["x", "y"], max=3), "questions[0].max", "Höchstens so viele"),
            (q("a", "multiple", options=["x", "y"], min=1.5), "questions[0].min", "ganze Zahl"),
            (q("a", "text", max=20_000), "questions[0].max", "zwischen 1 und"),
            (q("a", "number", min=5, max=1), "questions[0].max", "mindestens so groß"),
            (q("a", "scale", min=1, max=7), "questions[0].min", "1 bis 5 oder von 0 bis 10"),
            (q("a", "scale", min=1), "questions[0].min", "Minimum und Maximum"),
            (q("a", "matrix", options=["a", "b"]), "questions[0].rows", "mindestens 1 Zeile"),
            (q("a", "date", min=1), "questions[0].min", "gibt es bei dieser Art"),
            (q("a", "text", options=["x", "y"]), "questions[0].options", "nur bei Auswahl"),
            (q("a", "number", multiline=True), "questions[0].multiline", "nur bei Textfragen"),
        ],
    )
    def test_bad_question(self, question: c.Question, field: str, needle: str) -> None:
        errors = fields(rules.check_questions([question]))
        assert field in errors and needle in errors[field], errors

    def test_duplicate_ids_and_every_problem_named(self) -> None:
        errors = fields(
            rules.check_questions(
                [
                    q("a", "single", options=["x"]),
                    q("a", "number", min=3, max=1),
                    q("b", "scale", min=2, max=9),
                ]
            )
        )
        assert set(errors) == {
            "questions[0].options",
            "questions[1].id",
            "questions[1].max",
            "questions[2].min",
        }

    def test_condition_must_point_back_to_a_possible_answer(self) -> None:
        forward = [q("a", "text", show_if={"question": "b", "equals": "x"}), q("b", "text")]
        assert "questions[0].show_if.question" in fields(rules.check_questions(forward))
        itself = [q("a", "text", show_if={"question": "a", "equals": "x"})]
        assert "questions[0].show_if.question" in fields(rules.check_questions(itself))
        unknown_option = [SINGLE, q("b", "text", show_if={"question": "hat_dms", "equals": "Vielleicht"})]
        assert "questions[1].show_if.equals" in fields(rules.check_questions(unknown_option))
        out_of_scale = [SCALE, q("b", "text", show_if={"question": "zufrieden", "equals": 9})]
        assert "questions[1].show_if.equals" in fields(rules.check_questions(out_of_scale))
        on_matrix = [MATRIX, q("b", "text", show_if={"question": "reife", "equals": "hoch"})]
        assert "questions[1].show_if.question" in fields(rules.check_questions(on_matrix))
        fine = [SCALE, q("b", "text", show_if={"question": "zufrieden", "equals": 2})]
        assert rules.check_questions(fine) == []

    def test_audience_times_and_anonymity(self) -> None:
        now = datetime.now(UTC)
        defn = c.SurveyDefinition(
            title="Umfrage",
            audience=c.Audience(kind="landkreis"),
            opens_at=now + timedelta(days=2),
            closes_at=now + timedelta(days=1),
            anonymous=True,
        )
        assert set(fields(rules.check_definition(defn))) == {"audience.ids", "closes_at", "anonymous"}
        assert "audience.ids" in fields(rules.check_audience(c.Audience(kind="all_kommunen", ids=["15003"])))
        assert "audience.ids" in fields(rules.check_audience(c.Audience(kind="landkreis", ids=["15003000"])))
        assert rules.check_audience(c.Audience(kind="organisations", ids=["15003", "15002"])) == []

    def test_normalise_trims_texts(self) -> None:
        trimmed = rules.normalise_question(
            q("a", "single", label=" Frage ", options=[" Ja", "Nein "], section="  A  B ")
        )
        assert (trimmed.label, trimmed.options, trimmed.section) == ("Frage", ["Ja", "Nein"], "A B")


class TestConditions:
    CHAIN = [
        q("dms", "single", options=["Ja", "Nein"]),
        q("produkt", "single", options=["A", "B"], show_if={"question": "dms", "equals": "Ja"}),
        q("version", "text", show_if={"question": "produkt", "equals": "B"}, required=True),
        q("themen", "multiple", options=["x", "y"]),
        q("warum_x", "text", show_if={"question": "themen", "equals": "x"}),
        q("note", "scale"),
        q("schlecht", "text", show_if={"question": "note", "equals": 1}),
    ]

    def test_chain_shows_step_by_step(self) -> None:
        assert rules.visible(self.CHAIN, {}) == {"dms", "themen", "note"}
        assert "produkt" in rules.visible(self.CHAIN, {"dms": "Ja"})
        assert "version" in rules.visible(self.CHAIN, {"dms": "Ja", "produkt": "B"})

    def test_hidden_question_hides_its_dependants(self) -> None:
        # "produkt" still holds "B", but "dms" = Nein hides it, and with it "version"
        shown = rules.visible(self.CHAIN, {"dms": "Nein", "produkt": "B"})
        assert "produkt" not in shown and "version" not in shown

    def test_multiple_contains_and_numbers_compare_by_value(self) -> None:
        assert "warum_x" in rules.visible(self.CHAIN, {"themen": ["y", "x"]})
        assert "warum_x" not in rules.visible(self.CHAIN, {"themen": ["y"]})
        assert "schlecht" in rules.visible(self.CHAIN, {"note": 1})
        assert "schlecht" not in rules.visible(self.CHAIN, {"note": "1"})

    def test_submit_ignores_hidden_required_and_drops_their_answers(self) -> None:
        answers = {"dms": "Nein", "produkt": "B", "themen": ["y"]}
        assert rules.check_answers(self.CHAIN, answers, complete=True) == []
        assert rules.clean_submission(self.CHAIN, answers) == {"dms": "Nein", "themen": ["y"]}
        # shown by the chain: the required follow-up is now missing
        shown = {"dms": "Ja", "produkt": "B"}
        assert fields(rules.check_answers(self.CHAIN, shown, complete=True)) == {
            "version": rules.ANSWER_REQUIRED
        }

    def test_draft_keeps_answers_of_hidden_questions(self) -> None:
        answers = {"dms": "Nein", "produkt": "B", "version": " 2.1 ", "note": None}
        assert rules.clean_draft(self.CHAIN, answers) == {"dms": "Nein", "produkt": "B", "version": "2.1"}
        assert rules.hidden(self.CHAIN, answers) == ["produkt", "version", "warum_x", "schlecht"]


class TestAnswers:
    GOOD: dict[str, Any] = {
        "hat_dms": "Ja",
        "bereiche": ["Bauamt", "Kasse"],
        "name": "Stadt",
        "bemerkung": "Läuft gut so.",
        "stellen": 3.5,
        "zufrieden": 4,
        "empfehlung": 0,
        "start": "2025-02-28",
        "reife": {"E-Akte": "hoch", "Rechnung": "niedrig"},
    }

    def test_complete_and_valid(self) -> None:
        assert rules.check_answers(ALL, self.GOOD, complete=True) == []

    @pytest.mark.parametrize(
        ("question", "value", "needle"),
        [
            ("hat_dms", "Vielleicht", "keine Antwortmöglichkeit"),
            ("hat_dms", 1, "als Text"),
            ("bereiche", "Bauamt", "Liste"),
            ("bereiche", ["Bauamt", "Bauamt"], "nur einmal"),
            ("bereiche", ["Bauamt", "Kasse", "Personal"], "höchstens 2"),
            ("bereiche", ["Rathaus"], "keine Antwortmöglichkeit"),
            ("name", "x" * 21, "Höchstens 20 Zeichen"),
            ("name", 12, "Text"),
            ("stellen", "drei", "Zahl"),
            ("stellen", True, "Zahl"),
            ("stellen", 101, "höchstens 100"),
            ("stellen", -1, "mindestens 0"),
            ("zufrieden", 6, "von 1 bis 5"),
            ("zufrieden", 2.5, "ganze Zahl"),
            ("empfehlung", 11, "von 0 bis 10"),
            ("start", "28.02.2025", "JJJJ-MM-TT"),
            ("start", "2025-02-30", "JJJJ-MM-TT"),
            ("reife", {"Papier": "hoch"}, "keine Zeile"),
            ("reife", {"E-Akte": "sehr hoch"}, "keine Spalte"),
            ("reife", ["hoch"], "je Zeile"),
        ],
    )
    def test_wrong_values_named_at_their_question_even_in_a_draft(
        self, question: str, value: Any, needle: str
    ) -> None:
        answers = {**self.GOOD, question: value}
        for complete in (False, True):
            errors = fields(rules.check_answers(ALL, answers, complete=complete))
            assert list(errors) == [question] and needle in errors[question], errors

    def test_unknown_question(self) -> None:
        errors = fields(rules.check_answers(ALL, {"gibt_es_nicht": 1}, complete=False))
        assert errors == {"gibt_es_nicht": "Diese Frage gibt es in der Umfrage nicht."}

    def test_draft_may_be_incomplete_submit_names_every_problem(self) -> None:
        partial = {"bereiche": [], "bemerkung": "kurz", "reife": {"E-Akte": "hoch"}}
        assert rules.check_answers(ALL, partial, complete=False) == []
        errors = fields(rules.check_answers(ALL, partial, complete=True))
        assert set(errors) == {"hat_dms", "stellen", "bemerkung", "reife"}
        assert "Mindestens 5 Zeichen" in errors["bemerkung"]
        assert "Rechnung" in errors["reife"]

    def test_multiple_minimum_only_on_submit(self) -> None:
        few = q("x", "multiple", options=["a", "b", "c"], min=2)
        assert rules.check_answers([few], {"x": ["a"]}, complete=False) == []
        assert "mindestens 2" in fields(rules.check_answers([few], {"x": ["a"]}, complete=True))["x"]

    def test_blank_text_counts_as_unanswered(self) -> None:
        required = q("t", "text", required=True)
        assert fields(rules.check_answers([required], {"t": "   "}, complete=True)) == {
            "t": rules.ANSWER_REQUIRED
        }


def test_sections_group_consecutive_questions() -> None:
    questions = [
        q("a", "text", section="Allgemein"),
        q("b", "text"),
        q("c", "text", section="Technik"),
        q("d", "text", section="Technik"),
    ]
    assert [(title, [x.id for x in qs]) for title, qs in rules.sections(questions)] == [
        ("Allgemein", ["a", "b"]),
        ("Technik", ["c", "d"]),
    ]
