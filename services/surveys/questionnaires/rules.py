"""Pure rules of questionnaires: a definition's consistency, conditions (`show_if`) and answers.

No I/O. Errors are `FieldError`s: for a definition the field is the path inside it
(`questions[2].options`), for answers it is the question id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from services.contracts import surveys as c
from services.contracts.envelope import FieldError

CHOICE_KINDS = ("single", "multiple")
SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 5000
DEFAULT_SCALE = (1, 5)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

ANSWER_REQUIRED = "Bitte beantworten Sie diese Frage."


def _err(name: str, message: str) -> FieldError:
    return FieldError(field=name, message=message)


def _quote(value: object, limit: int = 60) -> str:
    text = str(value)
    return f"„{text[:limit]}…“" if len(text) > limit else f"„{text}“"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _whole(value: float | None) -> bool:
    return value is None or float(value).is_integer()


def is_empty(value: object) -> bool:
    """An answer that says nothing: missing, null, blank text, no choice, no matrix row."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


def parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# --- effective bounds -------------------------------------------------------------------


def text_bounds(q: c.Question) -> tuple[int, int]:
    default = LONG_TEXT_MAX if q.multiline else SHORT_TEXT_MAX
    return int(q.min or 0), int(q.max if q.max is not None else default)


def scale_bounds(q: c.Question) -> tuple[int, int]:
    if q.min is None and q.max is None:
        return DEFAULT_SCALE
    return int(q.min or 0), int(q.max or 0)


def choice_bounds(q: c.Question) -> tuple[int, int]:
    """Fewest and most choices of a multiple-choice question (a required one needs at least one)."""
    low = int(q.min) if q.min is not None else 0
    if q.required:
        low = max(low, 1)
    return low, int(q.max) if q.max is not None else len(q.options)


# --- definitions ------------------------------------------------------------------------


def normalise_question(q: c.Question) -> c.Question:
    """Trim the texts a builder may have padded; the meaning stays."""
    return msgspec.structs.replace(
        q,
        label=q.label.strip(),
        help=q.help.strip(),
        section=" ".join(q.section.split()),
        options=[o.strip() for o in q.options],
        rows=[r.strip() for r in q.rows],
        min_label=q.min_label.strip(),
        max_label=q.max_label.strip(),
    )


def _labels_problem(labels: Sequence[str], what: str, least: int) -> str | None:
    if len(labels) < least:
        return f"Bitte mindestens {least} {what} angeben (eine je Zeile)."
    if any(not label.strip() for label in labels):
        return f"Leere {what} sind nicht erlaubt."
    seen: set[str] = set()
    for label in labels:
        key = label.strip().casefold()
        if key in seen:
            return f"{_quote(label)} steht doppelt."
        seen.add(key)
    return None


def check_question(q: c.Question, earlier: Mapping[str, c.Question], at: str) -> list[FieldError]:
    """Problems of one question; `earlier` are the questions before it (conditions may only
    refer to those, which also rules out cycles)."""
    errors: list[FieldError] = []
    if not q.label:
        errors.append(_err(f"{at}.label", "Bitte geben Sie den Fragetext ein."))
    if q.kind in CHOICE_KINDS or q.kind == "matrix":
        what = "Spalten der Skala" if q.kind == "matrix" else "Antwortmöglichkeiten"
        if problem := _labels_problem(q.options, what, 2):
            errors.append(_err(f"{at}.options", problem))
    elif q.options:
        errors.append(
            _err(f"{at}.options", "Antwortmöglichkeiten gibt es nur bei Auswahl- und Matrixfragen.")
        )
    if q.kind == "matrix":
        if problem := _labels_problem(q.rows, "Zeile(n)", 1):
            errors.append(_err(f"{at}.rows", problem))
    elif q.rows:
        errors.append(_err(f"{at}.rows", "Zeilen gibt es nur bei Matrixfragen."))
    if q.multiline and q.kind != "text":
        errors.append(_err(f"{at}.multiline", "Mehrzeilig gibt es nur bei Textfragen."))
    if (q.min_label or q.max_label) and q.kind != "scale":
        errors.append(_err(f"{at}.min_label", "Beschriftungen der Enden gibt es nur bei Skalen."))
    errors += _check_bounds(q, at)
    if q.show_if is not None:
        errors += _check_condition(q, earlier, at)
    return errors


def _check_bounds(q: c.Question, at: str) -> list[FieldError]:
    low, high = q.min, q.max
    if q.kind in ("single", "date", "matrix"):
        if low is not None or high is not None:
            return [_err(f"{at}.min", "Minimum und Maximum gibt es bei dieser Art von Frage nicht.")]
        return []
    if low is not None and high is not None and low > high:
        return [_err(f"{at}.max", "Das Maximum muss mindestens so groß sein wie das Minimum.")]
    if q.kind == "multiple":
        if not (_whole(low) and _whole(high)) or (low is not None and low < 0):
            return [_err(f"{at}.min", "Die Zahl der Auswahlen muss eine ganze Zahl ab 0 sein.")]
        if high is not None and (high < 1 or high > len(q.options)):
            return [_err(f"{at}.max", "Höchstens so viele Auswahlen, wie es Antwortmöglichkeiten gibt.")]
        if low is not None and low > len(q.options):
            return [_err(f"{at}.min", "Mindestens so viele Auswahlen, wie es Antwortmöglichkeiten gibt.")]
    elif q.kind == "text":
        if not (_whole(low) and _whole(high)) or (low is not None and low < 0):
            return [_err(f"{at}.min", "Die Länge muss eine ganze Zahl ab 0 sein.")]
        if high is not None and not 1 <= high <= c.MAX_TEXT_LENGTH:
            return [_err(f"{at}.max", f"Die Höchstlänge muss zwischen 1 und {c.MAX_TEXT_LENGTH} liegen.")]
    elif q.kind == "scale":
        if (low is None) != (high is None):
            return [_err(f"{at}.min", "Bitte Minimum und Maximum der Skala angeben (1–5 oder 0–10).")]
        if low is not None and (low, high) not in c.SCALES:
            return [_err(f"{at}.min", "Skalen gehen von 1 bis 5 oder von 0 bis 10.")]
    return []


def _check_condition(q: c.Question, earlier: Mapping[str, c.Question], at: str) -> list[FieldError]:
    cond = q.show_if
    assert cond is not None
    source = earlier.get(cond.question)
    if source is None:
        return [_err(f"{at}.show_if.question", "Die Bedingung muss sich auf eine frühere Frage beziehen.")]
    if source.kind == "matrix":
        return [_err(f"{at}.show_if.question", "Eine Matrixfrage kann keine Bedingung sein.")]
    if not condition_value_ok(source, cond.equals):
        return [
            _err(
                f"{at}.show_if.equals",
                f"{_quote(cond.equals)} ist keine mögliche Antwort auf Frage {_quote(source.id)}.",
            )
        ]
    return []


def condition_value_ok(source: c.Question, equals: object) -> bool:
    """Whether some answer to `source` could ever match `equals`."""
    if source.kind in CHOICE_KINDS:
        return isinstance(equals, str) and equals in source.options
    if source.kind == "scale":
        low, high = scale_bounds(source)
        return _is_int(equals) and low <= int(str(equals)) <= high
    if source.kind == "number":
        return _is_number(equals)
    if source.kind == "date":
        return parse_date(equals) is not None
    return isinstance(equals, str) and bool(equals.strip())


def check_questions(questions: Sequence[c.Question]) -> list[FieldError]:
    errors: list[FieldError] = []
    earlier: dict[str, c.Question] = {}
    for index, q in enumerate(questions):
        at = f"questions[{index}]"
        if q.id in earlier:
            errors.append(_err(f"{at}.id", f"Die Kennung {_quote(q.id)} kommt zweimal vor."))
        errors += check_question(q, earlier, at)
        earlier.setdefault(q.id, q)
    return errors


def check_definition(defn: c.SurveyDefinition) -> list[FieldError]:
    errors: list[FieldError] = []
    if not defn.title.strip():
        errors.append(_err("title", "Bitte geben Sie einen Titel ein."))
    if defn.opens_at is not None and aware(defn.opens_at) >= aware(defn.closes_at):
        errors.append(_err("closes_at", "Das Ende muss nach dem Beginn liegen."))
    errors += check_audience(defn.audience)
    if defn.anonymous and defn.respond_as != "person":
        errors.append(
            _err("anonymous", "Ohne Namen auswerten lassen sich nur Umfragen, die Personen beantworten.")
        )
    errors += check_questions(defn.questions)
    return errors


def check_audience(audience: c.Audience) -> list[FieldError]:
    if audience.kind == "all_kommunen":
        if audience.ids:
            return [_err("audience.ids", "Bei „alle Kommunen“ wird keine Auswahl angegeben.")]
        return []
    if not audience.ids:
        what = {
            "landkreis": "einen Landkreis",
            "group": "eine AG",
            "organisations": "eine Kommune",
        }[audience.kind]
        return [_err("audience.ids", f"Bitte wählen Sie mindestens {what}.")]
    if audience.kind == "landkreis" and any(not (i.isdigit() and len(i) == 5) for i in audience.ids):
        return [_err("audience.ids", "Landkreise werden mit ihrem fünfstelligen Schlüssel angegeben.")]
    if len(set(audience.ids)) != len(audience.ids):
        return [_err("audience.ids", "Eine Auswahl steht doppelt.")]
    return []


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- conditions -------------------------------------------------------------------------


def matches(source: c.Question, answer: object, equals: object) -> bool:
    if is_empty(answer):
        return False
    if source.kind == "multiple":
        return isinstance(answer, list) and equals in answer
    if source.kind in ("number", "scale"):
        return _is_number(answer) and _is_number(equals) and float(str(answer)) == float(str(equals))
    if isinstance(answer, str) and isinstance(equals, str):
        return answer.strip() == equals.strip()
    return False


def visible(questions: Sequence[c.Question], answers: Mapping[str, Any]) -> set[str]:
    """Ids of the questions shown for these answers. Conditions refer to earlier questions, so
    one pass in order settles chains: a hidden question hides every question that depends on it."""
    shown: set[str] = set()
    by_id: dict[str, c.Question] = {}
    for q in questions:
        by_id.setdefault(q.id, q)
        cond = q.show_if
        if cond is None:
            shown.add(q.id)
        elif cond.question in shown and matches(
            by_id[cond.question], answers.get(cond.question), cond.equals
        ):
            shown.add(q.id)
    return shown


def hidden(questions: Sequence[c.Question], answers: Mapping[str, Any]) -> list[str]:
    shown = visible(questions, answers)
    return [q.id for q in questions if q.id not in shown]


# --- answers ----------------------------------------------------------------------------


def check_answers(
    questions: Sequence[c.Question], answers: Mapping[str, Any], *, complete: bool
) -> list[FieldError]:
    """Every problem, one per question (field = question id).

    A draft (`complete=False`) checks what is there: unknown questions, types, options and
    ranges; it may be incomplete. A submission (`complete=True`) also needs every required
    question that is shown, the fewest choices and the shortest texts, and ignores questions a
    condition hides."""
    by_id = {q.id: q for q in questions}
    errors = [_err(key, "Diese Frage gibt es in der Umfrage nicht.") for key in answers if key not in by_id]
    shown = visible(questions, answers) if complete else set(by_id)
    for q in questions:
        if q.id not in shown:
            continue
        value = answers.get(q.id)
        if is_empty(value):
            if complete and q.required:
                errors.append(_err(q.id, ANSWER_REQUIRED))
            continue
        if problem := check_value(q, value, complete=complete):
            errors.append(_err(q.id, problem))
    return errors


def check_value(q: c.Question, value: object, *, complete: bool) -> str | None:
    return _CHECKS[q.kind](q, value, complete)


def _single(q: c.Question, value: object, complete: bool) -> str | None:
    if not isinstance(value, str):
        return "Erwartet wird eine der Antwortmöglichkeiten als Text."
    if value not in q.options:
        return f"{_quote(value)} ist keine Antwortmöglichkeit dieser Frage."
    return None


def _multiple(q: c.Question, value: object, complete: bool) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "Erwartet wird eine Liste von Antwortmöglichkeiten."
    unknown = [v for v in value if v not in q.options]
    if unknown:
        return f"{_quote(unknown[0])} ist keine Antwortmöglichkeit dieser Frage."
    if len(set(value)) != len(value):
        return "Jede Antwortmöglichkeit darf nur einmal gewählt werden."
    low, high = choice_bounds(q)
    if len(value) > high:
        return f"Bitte höchstens {high} auswählen."
    if complete and len(value) < low:
        return f"Bitte mindestens {low} auswählen."
    return None


def _text(q: c.Question, value: object, complete: bool) -> str | None:
    if not isinstance(value, str):
        return "Erwartet wird ein Text."
    low, high = text_bounds(q)
    length = len(value.strip())
    if length > high:
        return f"Höchstens {high} Zeichen (jetzt {length})."
    if complete and length < low:
        return f"Mindestens {low} Zeichen (jetzt {length})."
    return None


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def _number(q: c.Question, value: object, complete: bool) -> str | None:
    if not _is_number(value):
        return "Erwartet wird eine Zahl."
    number = float(str(value))
    if q.min is not None and number < q.min:
        return f"Die Zahl muss mindestens {_format_number(q.min)} sein."
    if q.max is not None and number > q.max:
        return f"Die Zahl darf höchstens {_format_number(q.max)} sein."
    return None


def _scale(q: c.Question, value: object, complete: bool) -> str | None:
    low, high = scale_bounds(q)
    if not _is_int(value):
        return f"Erwartet wird eine ganze Zahl von {low} bis {high}."
    if not low <= int(str(value)) <= high:
        return f"Bitte einen Wert von {low} bis {high} wählen."
    return None


def _date(q: c.Question, value: object, complete: bool) -> str | None:
    if parse_date(value) is None:
        return "Erwartet wird ein Datum im Format JJJJ-MM-TT."
    return None


def _matrix(q: c.Question, value: object, complete: bool) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return "Erwartet wird je Zeile eine Spalte der Skala."
    for row, column in value.items():
        if row not in q.rows:
            return f"{_quote(row)} ist keine Zeile dieser Frage."
        if column not in q.options:
            return f"{_quote(column)} ist keine Spalte der Skala dieser Frage."
    if complete and q.required:
        missing = [row for row in q.rows if is_empty(value.get(row))]
        if missing:
            return f"Bitte beantworten Sie jede Zeile (es fehlt {_quote(missing[0])})."
    return None


_CHECKS = {
    "single": _single,
    "multiple": _multiple,
    "text": _text,
    "number": _number,
    "scale": _scale,
    "date": _date,
    "matrix": _matrix,
}


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not is_empty(v)}
    return value


def clean_draft(questions: Sequence[c.Question], answers: Mapping[str, Any]) -> dict[str, Any]:
    """What a draft stores: every known, non-empty answer in question order (hidden ones too, so
    switching a condition back does not lose them)."""
    return {q.id: _clean_value(answers[q.id]) for q in questions if not is_empty(answers.get(q.id))}


def clean_submission(questions: Sequence[c.Question], answers: Mapping[str, Any]) -> dict[str, Any]:
    """What a submission stores: the answers of shown questions only."""
    shown = visible(questions, answers)
    return {k: v for k, v in clean_draft(questions, answers).items() if k in shown}


def sections(questions: Iterable[c.Question]) -> list[tuple[str, list[c.Question]]]:
    """Consecutive questions with the same section title form one section (a page of a long
    survey); an empty title continues the section before it."""
    out: list[tuple[str, list[c.Question]]] = []
    for q in questions:
        if not out or (q.section and q.section != out[-1][0]):
            out.append((q.section, [q]))
        else:
            out[-1][1].append(q)
    return out
