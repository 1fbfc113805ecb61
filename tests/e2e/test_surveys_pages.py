"""Survey pages without JavaScript: build a survey form by form, preview, publish, answer with
a draft and a submission whose errors are named, progress, reminders and results."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Stack
from tests.e2e.surveys_support import GOOD_ANSWERS, kommune, published


async def page_client(stack: Stack, email: str) -> tuple[httpx.AsyncClient, str]:
    """Logged in through the API; returns the client and the form token of the session."""
    client = await stack.login(email)
    return client, client.headers["X-CSRF-Token"]


def summary(response: httpx.Response) -> str:
    """The error summary of a page, as text (for assertion messages)."""
    found = re.search(
        r'<div class="kern-alert kern-alert--danger error-summary".*?</ul>', response.text, re.S
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))) if found else response.text[:500]


def location(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, summary(response))
    return response.headers["location"]


async def test_build_a_survey_form_by_form_and_publish(stack: Stack) -> None:
    ministry, token = await page_client(stack, "ministerium@gdst.example")
    new = await ministry.get("/umfragen/neu")
    assert new.status_code == 200 and "Neue Umfrage" in new.text

    # every problem of the settings named at once
    bad = await ministry.post(
        "/umfragen/neu", data={"csrf_token": token, "title": "x", "audience_kind": "landkreis"}
    )
    assert bad.status_code == 422
    assert 'href="#closes_at"' in bad.text and 'href="#title"' in bad.text

    created = await ministry.post(
        "/umfragen/neu",
        data={
            "csrf_token": token,
            "title": "IT-Ausstattung",
            "description": "Bitte bis Monatsende.",
            "audience_kind": "organisations",
            "audience_organisations": "15003, 15002",
            "respond_as": "organisation",
            "closes_at": (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    builder_url = location(created)
    sid = builder_url.split("/")[2]
    builder = await ministry.get(builder_url.split("?")[0])
    assert "Noch keine Fragen" in builder.text

    async def add(kind: str, fields: dict[str, str]) -> httpx.Response:
        form = await ministry.get(f"/umfragen/{sid}/fragen/neu?art={kind}")
        assert form.status_code == 200, form.text[:500]
        revision = re.search(r'name="revision" value="(\d+)"', form.text)
        assert revision
        return await ministry.post(
            f"/umfragen/{sid}/fragen/neu",
            data={"csrf_token": token, "revision": revision.group(1), "kind": kind, **fields},
        )

    location(
        await add("single", {"id": "dms", "label": "DMS im Einsatz?", "options": "Ja\nNein", "required": "1"})
    )
    location(
        await add(
            "text",
            {"id": "produkt", "label": "Welches?", "show_if_question": "dms", "show_if_equals": "Ja"},
        )
    )
    location(await add("scale", {"label": "Zufrieden?", "scale": "0-10", "min_label": "gar nicht"}))
    location(
        await add("matrix", {"label": "Reife", "rows": "E-Akte\nE-Rechnung", "options": "niedrig\nhoch"})
    )
    location(await add("number", {"label": "Stellen", "min": "0", "max": "1.000"}))
    # a builder mistake is named at its field
    wrong = await add("single", {"label": "Nur eine Option", "options": "Ja"})
    assert wrong.status_code == 422 and 'href="#options"' in wrong.text
    wrong = await add(
        "text", {"label": "Bedingung", "show_if_question": "dms", "show_if_equals": "Vielleicht"}
    )
    assert wrong.status_code == 422 and 'href="#show_if_equals"' in wrong.text

    survey = (await ministry.get(f"/api/v1/surveys/{sid}")).json()
    assert [q["id"] for q in survey["questions"]] == ["dms", "produkt", "f3", "f4", "f5"]
    assert survey["questions"][2] | {"min": 0, "max": 10} == survey["questions"][2]
    assert survey["questions"][4]["max"] == 1000

    # edit, move and remove one question at a time
    edit = await ministry.get(f"/umfragen/{sid}/fragen/f5")
    assert edit.status_code == 200 and "Stellen" in edit.text
    saved = await ministry.post(
        f"/umfragen/{sid}/fragen/f5",
        data={
            "csrf_token": token,
            "revision": str(survey["revision"]),
            "label": "IT-Stellen",
            "min": "0",
            "max": "500",
        },
    )
    location(saved)
    survey = (await ministry.get(f"/api/v1/surveys/{sid}")).json()
    moved = await ministry.post(
        f"/umfragen/{sid}/fragen/f5/verschieben",
        data={"csrf_token": token, "revision": str(survey["revision"]), "richtung": "hoch"},
    )
    location(moved)
    survey = (await ministry.get(f"/api/v1/surveys/{sid}")).json()
    assert [q["id"] for q in survey["questions"]] == ["dms", "produkt", "f3", "f5", "f4"]
    stale = await ministry.post(
        f"/umfragen/{sid}/fragen/f4/entfernen", data={"csrf_token": token, "revision": "0"}
    )
    assert stale.status_code == 409 and "inzwischen geändert" in stale.text
    removed = await ministry.post(
        f"/umfragen/{sid}/fragen/f4/entfernen",
        data={"csrf_token": token, "revision": str(survey["revision"])},
    )
    location(removed)

    preview = await ministry.get(f"/umfragen/{sid}/vorschau")
    assert preview.status_code == 200 and "Vorschau" in preview.text and "IT-Stellen" in preview.text
    assert "Nur beantworten, wenn Sie „DMS im Einsatz?“ mit „Ja“ beantwortet haben." in preview.text

    published_ = await ministry.post(f"/umfragen/{sid}/veroeffentlichen", data={"csrf_token": token})
    assert location(published_) == f"/umfragen/{sid}?hinweis=veroeffentlicht"
    overview = await ministry.get(f"/umfragen/{sid}")
    assert "Fortschritt und Erinnerungen" in overview.text
    assert (await ministry.get("/umfragen")).status_code == 200


async def test_answer_page_draft_errors_submit_reopen(stack: Stack) -> None:
    survey = await published(await stack.login())
    sid = survey["id"]
    halle, token = await page_client(stack, kommune("15002"))
    listing = await halle.get("/umfragen")
    assert "Meine Umfragen" in listing.text and survey["title"] in listing.text
    page = await halle.get(f"/umfragen/{sid}")
    assert page.status_code == 200 and 'id="f-dms-0"' in page.text and 'id="f-reife-0-0"' in page.text
    # a Kommune outside the audience gets no form; the ministry gets the overview, not a form
    outside = await stack.login(kommune("15081"))
    refused = await outside.get(f"/umfragen/{sid}")
    assert refused.status_code == 403 and 'id="f-dms-0"' not in refused.text
    overview = await (await stack.login()).get(f"/umfragen/{sid}")
    assert overview.status_code == 200 and 'id="antwort-form"' not in overview.text

    draft = await halle.post(
        f"/umfragen/{sid}/antwort",
        data={
            "csrf_token": token,
            "action": "save",
            "a-dms": "Ja",
            "a-stellen": "3,5",
            "a-bereiche": ["Bauamt", "Kasse"],
        },
    )
    assert location(draft) == f"/umfragen/{sid}?hinweis=entwurf"
    saved = (await halle.get(f"/api/v1/surveys/{sid}/response")).json()
    assert saved["answers"] == {"dms": "Ja", "stellen": 3.5, "bereiche": ["Bauamt", "Kasse"]}
    page = await halle.get(f"/umfragen/{sid}?hinweis=entwurf")
    assert "Team Halle" in page.text and 'value="3,5"' in page.text

    # submitting names every problem, linked to the first control of its question
    incomplete = await halle.post(
        f"/umfragen/{sid}/antwort",
        data={"csrf_token": token, "action": "submit", "a-dms": "Ja", "a-stellen": "viele"},
    )
    assert incomplete.status_code == 422
    for anchor in ("#f-stellen", "#f-produkt-0", "#f-reife-0-0"):
        assert f'href="{anchor}"' in incomplete.text
    assert 'value="viele"' in incomplete.text, "what was typed is shown again"

    form: dict[str, Any] = {"csrf_token": token, "action": "submit"}
    for key, value in GOOD_ANSWERS.items():
        if key == "reife":
            form["a-reife-0"], form["a-reife-1"] = value["E-Akte"], value["E-Rechnung"]
        else:
            form[f"a-{key}"] = value if isinstance(value, list) else str(value)
    submitted = await halle.post(f"/umfragen/{sid}/antwort", data=form)
    assert location(submitted) == f"/umfragen/{sid}?hinweis=eingereicht"
    assert (await halle.get(f"/api/v1/surveys/{sid}/response")).json()["answers"] == GOOD_ANSWERS
    page = await halle.get(f"/umfragen/{sid}")
    assert "Antwort wieder öffnen" in page.text and "Antwort einreichen" not in page.text
    reopened = await halle.post(f"/umfragen/{sid}/wieder-oeffnen", data={"csrf_token": token})
    assert location(reopened) == f"/umfragen/{sid}?hinweis=geoeffnet"

    expired = await halle.post(f"/umfragen/{sid}/antwort", data={"csrf_token": "falsch", "action": "save"})
    assert expired.status_code == 403 and "abgelaufen" in expired.text


async def test_progress_reminder_and_results_pages(stack: Stack) -> None:
    ministry_api = await stack.login()
    survey = await published(ministry_api)
    sid = survey["id"]
    for ags in ("15003", "15002"):
        client = await stack.login(kommune(ags))
        await client.post(f"/api/v1/surveys/{sid}/response/submit", json={"answers": GOOD_ANSWERS})
    ministry, token = await page_client(stack, "ministerium@gdst.example")
    progress = await ministry.get(f"/umfragen/{sid}/fortschritt")
    assert progress.status_code == 200 and "Erinnerung an fehlende senden" in progress.text
    assert progress.text.count("1 von 1 eingereicht") == 2 and "0 von 1 eingereicht" in progress.text
    reminded = await ministry.post(f"/umfragen/{sid}/erinnerung", data={"csrf_token": token})
    assert location(reminded) == f"/umfragen/{sid}/fortschritt?hinweis=erinnert"

    results = await ministry.get(f"/umfragen/{sid}/ergebnisse")
    assert results.status_code == 200
    assert "<svg" in results.text and "style=" not in results.text.split("<main")[1]
    assert "Am häufigsten: „Ja“ (2, 100 %)." in results.text
    assert f"/api/v1/surveys/{sid}/results.csv" in results.text
    filtered = await ministry.get(f"/umfragen/{sid}/ergebnisse?landkreis=15082&art=stadt")
    assert filtered.status_code == 200 and "0 von 3" in filtered.text
    bad_filter = await ministry.get(f"/umfragen/{sid}/ergebnisse?landkreis=abc")
    assert bad_filter.status_code == 422

    magdeburg, _ = await page_client(stack, kommune("15003"))
    assert (await magdeburg.get(f"/umfragen/{sid}/fortschritt")).status_code == 403
    assert (await magdeburg.get("/umfragen/neu")).status_code == 403
