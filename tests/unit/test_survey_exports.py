"""Exports parsed back: CSV (BOM, semicolons, decimal comma) and XLSX (numbers, dates)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import msgspec
from openpyxl import load_workbook

from services.contracts import surveys as c
from services.surveys.questionnaires import exports


def q(id: str, kind: str, **kw: Any) -> c.Question:
    return msgspec.convert({"id": id, "kind": kind, "label": kw.pop("label", id.title()), **kw}, c.Question)


QUESTIONS = [
    q("dms", "single", options=["Ja", "Nein"]),
    q("bereiche", "multiple", options=["Bau", "Kasse"]),
    q("anteil", "number"),
    q("start", "date"),
    q("reife", "matrix", rows=["E-Akte"], options=["niedrig", "hoch"]),
    q("bemerkung", "text", label="Bemerkung; mit Trennzeichen"),
]
ORG = {
    "id": "15003",
    "ags": "15003",
    "name": "Magdeburg, Landeshauptstadt",
    "kind": "kreisfreie_stadt",
    "kreis": "15003",
    "kreis_name": "Magdeburg, Landeshauptstadt",
}
ROWS = [
    exports.Row(
        organisation=ORG,
        person=None,
        submitted_at=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        answers={
            "dms": "Ja",
            "bereiche": ["Kasse"],
            "anteil": 12.5,
            "start": "2024-05-01",
            "reife": {"E-Akte": "hoch"},
            "bemerkung": '=HYPERLINK("x")\n"zitiert"; ja',
        },
    ),
    exports.Row(
        organisation={**ORG, "id": "15002", "ags": "15002", "name": "Halle"},
        person=None,
        submitted_at=None,
        answers={"dms": "Nein"},
    ),
]


def test_headers_have_one_column_per_option_and_matrix_row() -> None:
    head, _ = exports.table(QUESTIONS, ROWS, with_person=False)
    assert head == [
        "AGS",
        "Kommune",
        "Art",
        "Landkreis",
        "Eingereicht am (UTC)",
        "dms: Dms",
        "bereiche: Bereiche [Bau]",
        "bereiche: Bereiche [Kasse]",
        "anteil: Anteil",
        "start: Start",
        "reife: Reife [E-Akte]",
        "bemerkung: Bemerkung; mit Trennzeichen",
    ]


def test_csv_round_trip() -> None:
    head, body = exports.table(QUESTIONS, ROWS, with_person=False)
    data = exports.to_csv(head, body)
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == head
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Kommune"] == "Magdeburg, Landeshauptstadt" and first["Art"] == "Kreisfreie Stadt"
    assert first["Eingereicht am (UTC)"] == "2025-03-01 12:30:00"
    assert (first["dms: Dms"], first["bereiche: Bereiche [Bau]"], first["bereiche: Bereiche [Kasse]"]) == (
        "Ja",
        "0",
        "1",
    )
    assert first["anteil: Anteil"] == "12,5"
    assert first["start: Start"] == "2024-05-01" and first["reife: Reife [E-Akte]"] == "hoch"
    assert first["bemerkung: Bemerkung; mit Trennzeichen"] == "'" + '=HYPERLINK("x")\n"zitiert"; ja'
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["bereiche: Bereiche [Bau]"] == "" and second["anteil: Anteil"] == ""


def test_xlsx_round_trip_keeps_numbers_dates_and_formula_text() -> None:
    head, body = exports.table(QUESTIONS, ROWS, with_person=False)
    book = load_workbook(io.BytesIO(exports.to_xlsx(head, body, QUESTIONS, "Titel")))
    sheet = book["Antworten"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == head
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["anteil: Anteil"] == 12.5
    assert first["bereiche: Bereiche [Kasse]"] == 1
    assert first["start: Start"] == datetime(2024, 5, 1)
    assert first["Eingereicht am (UTC)"] == datetime(2025, 3, 1, 12, 30)
    assert first["bemerkung: Bemerkung; mit Trennzeichen"] == '=HYPERLINK("x")\n"zitiert"; ja'
    assert sheet.cell(row=2, column=len(head)).data_type == "s", "text, never a formula"
    about = [list(r) for r in book["Fragen"].iter_rows(values_only=True)]
    assert about[1][:4] == ["dms", None, "Dms", "Einfachauswahl"] or about[1][:4] == [
        "dms",
        "",
        "Dms",
        "Einfachauswahl",
    ]


def test_person_column_only_when_named() -> None:
    row = exports.Row(organisation=ORG, person="Nora Neu", submitted_at=None, answers={})
    head, body = exports.table(QUESTIONS[:1], [row], with_person=True)
    assert head[4] == "Person" and body[0][4] == "Nora Neu"
