"""Retention: the notifications service removes inbox items and delivery logs older than the
configured days in a background loop; what is younger, or still pending, stays."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.runtime import mongo
from services.runtime.settings import Settings
from tests.conftest import Stack

pytestmark = pytest.mark.hardening

PERSON = "demo-15003"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_(
        retention_inbox_days=3, retention_delivery_log_days=2, retention_interval_seconds=0.3
    )


def inbox_item(key: str, age: timedelta) -> dict[str, Any]:
    return {
        "_id": f"{key}:{PERSON}",
        "person_id": PERSON,
        "event_id": key,
        "event_type": "survey.published",
        "title": f"Hinweis {key}",
        "body": "",
        "link": None,
        "created_at": datetime.now(UTC) - age,
        "read_at": None,
    }


def delivery(key: str, age: timedelta, state: str) -> dict[str, Any]:
    return {
        "_id": f"hook:{key}",
        "subscription_id": "hook",
        "event_id": key,
        "event_type": "need.reported",
        "body": b"{}",
        "state": state,
        "attempts": [],
        "created_at": datetime.now(UTC) - age,
    }


class TestRetention:
    async def test_old_inbox_items_and_delivery_logs_are_removed(self, stack: Stack, figures: Any) -> None:
        client = mongo.client(stack.settings.mongodb_url)
        db = client[stack.settings.names.database("notifications")]
        day = timedelta(days=1)
        try:
            await db["inbox"].insert_many(
                [inbox_item("alt", 4 * day), inbox_item("frisch", 2 * day), inbox_item("neu", timedelta())]
            )
            await db["webhook_deliveries"].insert_many(
                [
                    delivery("zugestellt-alt", 3 * day, "delivered"),
                    delivery("gescheitert-alt", 3 * day, "failed"),
                    delivery("wartet-alt", 3 * day, "pending"),
                    delivery("zugestellt-neu", timedelta(hours=1), "delivered"),
                ]
            )
            await db["mails_sent"].insert_many(
                [
                    {"_id": "m-alt", "at": datetime.now(UTC) - 3 * day},
                    {"_id": "m-neu", "at": datetime.now(UTC)},
                ]
            )
            old = {"inbox": 1, "webhook_deliveries": 2, "mails_sent": 1}
            deadline = time.monotonic() + 30
            while True:
                remaining = {
                    "inbox": sorted(d["event_id"] for d in await db["inbox"].find({}).to_list(None)),
                    "webhook_deliveries": sorted(
                        d["event_id"] for d in await db["webhook_deliveries"].find({}).to_list(None)
                    ),
                    "mails_sent": sorted(d["_id"] for d in await db["mails_sent"].find({}).to_list(None)),
                }
                if remaining["inbox"] == ["frisch", "neu"] and "m-alt" not in remaining["mails_sent"]:
                    break
                assert time.monotonic() < deadline, remaining
                await asyncio.sleep(0.2)
            assert remaining["webhook_deliveries"] == ["wartet-alt", "zugestellt-neu"]
            assert remaining["mails_sent"] == ["m-neu"]
        finally:
            await client.close()
        member = await stack.login("kommune-15003@gdst.example")
        titles = [i["title"] for i in (await member.get("/api/v1/notifications")).json()["items"]]
        assert "Hinweis alt" not in titles and "Hinweis frisch" in titles
        figures.record("privacy", "aged documents removed by retention", sum(old.values()))
        figures.record(
            "privacy", "young or pending documents kept by retention", sum(len(v) for v in remaining.values())
        )
