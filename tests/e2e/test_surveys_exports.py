"""Results and exports on the real stack: CSV and XLSX parsed back and compared with what the
Kommunen submitted; filters by Landkreis and kind."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from openpyxl import load_workbook

from tests.conftest import Stack
from tests.e2e.surveys_support import GOOD_ANSWERS, QUESTIONS, kommune, published

SUBMITTED: dict[str, dict[str, Any]] = {
    "15003": GOOD_ANSWERS,
    "15002": {
        "dms": "Nein",
        "bereiche": ["Standesamt"],
        "stellen": 7.5,
        "zufrieden": 2,
        "reife": {"E-Akte": "nicht begonnen", "E-Rechnung": "begonnen"},
        "bemerkung": "=SUMME(A1) ist kein Formelbeispiel; „Anführung“\nzweite Zeile",
    },
    "15082015": {
        "dms": "In Planung",
        "stellen": 3,
        "reife": {"E-Akte": "begonnen", "E-Rechnung": "begonnen"},
    },
}
AUDIENCE = {"kind": "organisations", "ids": [*SUBMITTED, "15001"]}


async def submit_all(stack: Stack, sid: str) -> None:
    for ags, answers in SUBMITTED.items():
        client = await stack.login(kommune(ags))
        response = await client.post(f"/api/v1/surveys/{sid}/response/submit", json={"answers": answers})
        assert response.status_code == 200, response.text
    # a draft never shows up in results or exports
    dessau = await stack.login(kommune("15001"))
    await dessau.put(f"/api/v1/surveys/{sid}/response", json={"answers": {"dms": "Ja"}})


def expected_cells(answers: dict[str, Any]) -> dict[str, Any]:
    """Column header → value, as the export writes an answer."""
    out: dict[str, Any] = {}
    for q in QUESTIONS:
        head = f"{q['id']}: {q['label']}"
        value = answers.get(q["id"])
        if q["kind"] == "multiple":
            for option in q["options"]:
                out[f"{head} [{option}]"] = None if value is None else int(option in value)
        elif q["kind"] == "matrix":
            for row in q["rows"]:
                out[f"{head} [{row}]"] = (value or {}).get(row)
        else:
            out[head] = value
    return out


def csv_value(text: str, expected: Any) -> Any:
    """Reads a CSV cell back into the type of the expected value."""
    if text == "":
        return None
    if isinstance(expected, bool | int) and not isinstance(expected, float):
        return int(text)
    if isinstance(expected, float):
        return float(text.replace(",", "."))
    return text.removeprefix("'") if text.startswith("'=") else text


async def test_csv_and_xlsx_match_the_submitted_answers(stack: Stack) -> None:
    ministry = await stack.login()
    survey = await published(ministry, audience=AUDIENCE)
    sid = survey["id"]
    await submit_all(stack, sid)

    response = await ministry.get(f"/api/v1/surveys/{sid}/results.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="umfrage-{sid}.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    head, body = rows[0], rows[1:]
    assert len(body) == len(SUBMITTED), "one row per submitted response"
    for row in body:
        cells = dict(zip(head, row, strict=True))
        expected = expected_cells(SUBMITTED[cells["AGS"]])
        assert {k: csv_value(cells[k], v) for k, v in expected.items()} == expected
        assert datetime.fromisoformat(cells["Eingereicht am (UTC)"])

    response = await ministry.get(f"/api/v1/surveys/{sid}/results.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content))["Antworten"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == head and len(values) == len(SUBMITTED) + 1
    for row in values[1:]:
        cells = dict(zip(values[0], row, strict=True))
        expected = expected_cells(SUBMITTED[str(cells["AGS"])])
        got = {k: cells[k] for k in expected}
        if isinstance(got.get("seit: Seit wann?"), datetime):
            got["seit: Seit wann?"] = got["seit: Seit wann?"].date().isoformat()
        assert got == expected

    # filters: Anhalt-Bitterfeld only, or only kreisfreie Städte
    kreis = await ministry.get(f"/api/v1/surveys/{sid}/results.csv?landkreis=15082")
    kreis_rows = list(csv.reader(io.StringIO(kreis.content.decode("utf-8-sig")), delimiter=";"))[1:]
    assert [r[0] for r in kreis_rows] == ["15082015"]
    cities = (await ministry.get(f"/api/v1/surveys/{sid}/results?kind=kreisfreie_stadt")).json()
    assert cities["responses"] == 2 and cities["kind"] == "kreisfreie_stadt"


async def test_results_per_question(stack: Stack) -> None:
    ministry = await stack.login()
    survey = await published(ministry, audience=AUDIENCE)
    sid = survey["id"]
    await submit_all(stack, sid)
    results = (await ministry.get(f"/api/v1/surveys/{sid}/results")).json()
    assert (results["addressed"], results["responses"]) == (4, 3)
    q = {r["id"]: r for r in results["questions"]}
    assert [(o["label"], o["count"], o["percent"]) for o in q["dms"]["options"]] == [
        ("Ja", 1, 33.3),
        ("Nein", 1, 33.3),
        ("In Planung", 1, 33.3),
    ]
    assert (q["produkt"]["asked"], q["produkt"]["n"]) == (1, 1), "asked only where dms = Ja"
    assert q["stellen"]["summary"] == {"n": 3, "mean": 7.5, "median": 7.5, "min": 3.0, "max": 12.0}
    assert [(r["label"], [x["count"] for x in r["counts"]]) for r in q["reife"]["matrix"]] == [
        ("E-Akte", [1, 2, 0]),
        ("E-Rechnung", [0, 2, 1]),
    ]
    assert sorted(t["by"] for t in q["bemerkung"]["texts"]) == [
        "Halle (Saale), Stadt",
        "Magdeburg, Landeshauptstadt",
    ]

    # the Kommunen see the results once the survey is closed, free texts without names
    halle = await stack.login(kommune("15002"))
    assert (await halle.get(f"/api/v1/surveys/{sid}/results")).status_code == 403
    await ministry.post(f"/api/v1/surveys/{sid}/close")
    seen = (await halle.get(f"/api/v1/surveys/{sid}/results")).json()
    texts = {r["id"]: r for r in seen["questions"]}["bemerkung"]["texts"]
    assert len(texts) == 2 and all(t["by"] is None for t in texts)
    assert (await halle.get(f"/api/v1/surveys/{sid}/results.xlsx")).status_code == 403
