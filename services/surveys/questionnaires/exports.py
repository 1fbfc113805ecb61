"""Exports of submitted responses: one row per response, one column per question (a multiple-
choice question has one column per option, a matrix one per row).

CSV is for German spreadsheet programs: UTF-8 with BOM, `;` between fields, decimal comma.
XLSX carries real numbers and dates, plus a second sheet describing the questions. Text that a
spreadsheet would read as a formula (starting with =, +, -, @) is kept as text: in CSV behind a
leading apostrophe, in XLSX as a string cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.contracts import surveys as c
from services.surveys.questionnaires import rules

KIND_LABELS = {
    "land": "Land",
    "ressort": "Ressort",
    "landkreis": "Landkreis",
    "kreisfreie_stadt": "Kreisfreie Stadt",
    "verbandsgemeinde": "Verbandsgemeinde",
    "stadt": "Stadt",
    "gemeinde": "Gemeinde",
}
QUESTION_KINDS = {
    "single": "Einfachauswahl",
    "multiple": "Mehrfachauswahl",
    "text": "Text",
    "number": "Zahl",
    "scale": "Skala",
    "date": "Datum",
    "matrix": "Matrix",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | date | datetime | None


@dataclass(frozen=True, slots=True)
class Row:
    """A submitted response as the export needs it."""

    organisation: dict[str, Any]
    person: str | None
    submitted_at: datetime | None
    answers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    question: c.Question
    part: str | None = None  # the option (multiple) or row (matrix) of this column


BASE_HEADERS = ["AGS", "Kommune", "Art", "Landkreis"]


def columns(questions: Sequence[c.Question]) -> list[Column]:
    out: list[Column] = []
    for q in questions:
        head = f"{q.id}: {q.label}"
        if q.kind == "multiple":
            out += [Column(f"{head} [{option}]", q, option) for option in q.options]
        elif q.kind == "matrix":
            out += [Column(f"{head} [{row}]", q, row) for row in q.rows]
        else:
            out.append(Column(head, q))
    return out


def headers(questions: Sequence[c.Question], with_person: bool) -> list[str]:
    base = [*BASE_HEADERS, *(["Person"] if with_person else []), "Eingereicht am (UTC)"]
    return base + [col.header for col in columns(questions)]


def cell(col: Column, answers: dict[str, Any]) -> Cell:
    value = answers.get(col.question.id)
    if rules.is_empty(value):
        return None
    kind = col.question.kind
    if kind == "multiple":
        return 1 if isinstance(value, list) and col.part in value else 0
    if kind == "matrix":
        picked = value.get(col.part) if isinstance(value, dict) else None
        return str(picked) if picked else None
    if kind == "date":
        return rules.parse_date(value)
    if kind in ("number", "scale"):
        return value if isinstance(value, int | float) else None
    return str(value)


def table(
    questions: Sequence[c.Question], rows: Sequence[Row], *, with_person: bool
) -> tuple[list[str], list[list[Cell]]]:
    cols = columns(questions)
    body: list[list[Cell]] = []
    for row in rows:
        org = row.organisation
        base: list[Cell] = [
            org.get("ags") or org["id"],
            org.get("name"),
            KIND_LABELS.get(org.get("kind", ""), org.get("kind")),
            org.get("kreis_name") or org.get("kreis"),
        ]
        if with_person:
            base.append(row.person)
        submitted = row.submitted_at.astimezone(UTC).replace(tzinfo=None) if row.submitted_at else None
        base.append(submitted)
        body.append(base + [cell(col, row.answers) for col in cols])
    return headers(questions, with_person), body


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
        return text.replace(".", ",")
    return "'" + value if value.startswith(FORMULA_START) else value


def to_csv(head: list[str], body: list[list[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([_csv_text(h) for h in head])
    for row in body:
        writer.writerow([_csv_text(v) for v in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def to_xlsx(head: list[str], body: list[list[Cell]], questions: Sequence[c.Question], title: str) -> bytes:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "Antworten"
    _append(sheet, head)
    for cell_ in sheet[1]:
        cell_.font = Font(bold=True)
    for row in body:
        _append(sheet, row)
    sheet.freeze_panes = "A2"
    about = wb.create_sheet("Fragen")
    _append(about, ["Kennung", "Abschnitt", "Frage", "Art", "Pflicht", "Antwortmöglichkeiten", "Zeilen"])
    for cell_ in about[1]:
        cell_.font = Font(bold=True)
    for q in questions:
        _append(
            about,
            [
                q.id,
                q.section,
                q.label,
                QUESTION_KINDS[q.kind],
                "ja" if q.required else "nein",
                " | ".join(q.options),
                " | ".join(q.rows),
            ],
        )
    wb.properties.title = title[:200]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _append(sheet: Any, values: Sequence[Cell]) -> None:
    sheet.append(list(values))
    row = sheet.max_row
    for index, value in enumerate(values, start=1):
        target = sheet.cell(row=row, column=index)
        if isinstance(value, str):
            # never a formula: openpyxl would otherwise store text starting with "=" as one
            target.value = value
            target.data_type = "s"
        elif isinstance(value, datetime):
            target.number_format = "YYYY-MM-DD HH:MM:SS"
        elif isinstance(value, date):
            target.number_format = "YYYY-MM-DD"
