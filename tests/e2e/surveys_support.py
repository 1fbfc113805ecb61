"""Shared helpers for the survey tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from services.runtime import mongo
from services.runtime.events import encode_event, outbox_entry
from tests.conftest import Stack


def kommune(ags: str) -> str:
    return f"kommune-{ags}@gdst.example"


def closes_in(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


# one question of every kind, a condition and a condition on that condition
QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "dms",
        "kind": "single",
        "label": "Nutzen Sie ein Dokumentenmanagementsystem?",
        "options": ["Ja", "Nein", "In Planung"],
        "required": True,
        "section": "Ausstattung",
    },
    {
        "id": "produkt",
        "kind": "single",
        "label": "Welches Produkt?",
        "options": ["Produkt A", "Produkt B", "Anderes"],
        "required": True,
        "show_if": {"question": "dms", "equals": "Ja"},
    },
    {
        "id": "produkt_name",
        "kind": "text",
        "label": "Welches andere Produkt?",
        "required": True,
        "max": 80,
        "show_if": {"question": "produkt", "equals": "Anderes"},
    },
    {
        "id": "bereiche",
        "kind": "multiple",
        "label": "In welchen Bereichen?",
        "options": ["Bauamt", "Standesamt", "Kasse", "Personal"],
        "min": 1,
        "max": 3,
    },
    {
        "id": "stellen",
        "kind": "number",
        "label": "Wie viele IT-Stellen?",
        "min": 0,
        "max": 500,
        "required": True,
    },
    {
        "id": "zufrieden",
        "kind": "scale",
        "label": "Wie zufrieden sind Sie?",
        "min": 1,
        "max": 5,
        "min_label": "gar nicht",
        "max_label": "sehr",
        "section": "Bewertung",
    },
    {"id": "empfehlung", "kind": "scale", "label": "Würden Sie es empfehlen?", "min": 0, "max": 10},
    {"id": "seit", "kind": "date", "label": "Seit wann?"},
    {
        "id": "reife",
        "kind": "matrix",
        "label": "Wie weit sind Sie?",
        "rows": ["E-Akte", "E-Rechnung"],
        "options": ["nicht begonnen", "begonnen", "abgeschlossen"],
        "required": True,
    },
    {"id": "bemerkung", "kind": "text", "label": "Bemerkungen", "multiline": True, "max": 2000},
]

GOOD_ANSWERS: dict[str, Any] = {
    "dms": "Ja",
    "produkt": "Anderes",
    "produkt_name": "Eigenbau",
    "bereiche": ["Bauamt", "Kasse"],
    "stellen": 12,
    "zufrieden": 4,
    "empfehlung": 8,
    "seit": "2021-04-01",
    "reife": {"E-Akte": "begonnen", "E-Rechnung": "abgeschlossen"},
    "bemerkung": "Läuft.",
}


def definition(
    audience: dict[str, Any] | None = None,
    questions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "title": "Digitalisierungsstand 2025",
        "description": "Eine Antwort je Kommune.",
        "questions": QUESTIONS if questions is None else questions,
        "audience": audience or {"kind": "organisations", "ids": ["15003", "15002", "15001"]},
        "respond_as": "organisation",
        "closes_at": closes_in(days=14),
        **extra,
    }


async def published(ministry: httpx.AsyncClient, **kw: Any) -> dict[str, Any]:
    created = await ministry.post("/api/v1/surveys", json=definition(**kw))
    assert created.status_code == 201, created.text
    response = await ministry.post(f"/api/v1/surveys/{created.json()['id']}/publish")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(stack: Stack, collection: str, query: dict[str, Any] | None = None) -> int:
    client = mongo.client(stack.settings.mongodb_url)
    try:
        db = client[stack.settings.names.database("surveys")]
        return await db[collection].count_documents(query or {})
    finally:
        await client.close()


async def stored_answers(stack: Stack, query: dict[str, Any] | None = None) -> int:
    """Responses and drafts stored (a draft until its first submission in `survey_drafts`)."""
    return await count(stack, "survey_responses", query) + await count(stack, "survey_drafts", query)


async def announce_as_another_instance(
    stack: Stack, event_type: str, data: msgspec.Struct, subject: str
) -> None:
    """An event of the surveys service (a survey's, a poll's) sent over another process's
    connection, as another surveys instance's relay would send it."""
    entry = outbox_entry(event_type, data, subject=subject)
    nc = stack.processes["needs"].conn.nc
    await nc.publish(stack.settings.names.event_subject(event_type), encode_event(entry, "/gdst/surveys"))
    await nc.flush()
