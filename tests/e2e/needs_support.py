"""Shared helpers for the needs and pilots tests."""

from __future__ import annotations

from typing import Any

import httpx

from services.directory.seed import demo_organisations

KOMMUNEN = [o.ags for o in demo_organisations()]  # 24 demo Kommunen (Kreise, Städte, Gemeinden)
POPULATION = {o.ags: o.population or 0 for o in demo_organisations()}


def kommune(ags: str) -> str:
    return f"kommune-{ags}@gdst.example"


async def report(
    client: httpx.AsyncClient,
    title: str,
    description: str = "Beschreibung des Bedarfs.",
    category: str = "querschnitt",
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/needs", json={"title": title, "description": description, "category": category, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
