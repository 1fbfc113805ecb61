"""A poison event is parked with its reason, visible to admins, and does not block the stream."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.contracts import directory as d
from services.contracts.envelope import Principal
from services.runtime.events import encode_event, outbox_entry
from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report

pytestmark = pytest.mark.faults


async def admin_client(stack: Stack) -> object:
    directory = stack.processes["directory"].parts["service"]
    root = Principal(person_id="root", organisation_id="15", roles=("admin",))
    await directory.create_person(
        root,
        d.CreatePerson(
            email="admin@gdst.example",
            name="Ada Admin",
            organisation_id="15",
            roles=["admin"],
            password="admin-passwort",
        ),
    )
    return await stack.login("admin@gdst.example", "admin-passwort")


class TestPoisonEvents:
    async def test_parked_with_reason_and_the_stream_moves_on(self, stack: Stack) -> None:
        js = stack.processes["needs"].js
        names = stack.settings.names
        # what a buggy publisher might send: a known type with someone else's data
        entry = outbox_entry("need.status_changed", d.GroupMemberAdded(group_id="x", person_id="y"))
        await js.publish(
            names.event_subject("need.status_changed"),
            encode_event(entry, "/gdst/needs"),
            headers={"Nats-Msg-Id": entry["id"]},
        )
        await js.publish(
            names.event_subject("need.supported"), b"{kaputt", headers={"Nats-Msg-Id": uuid.uuid4().hex}
        )
        # a good event behind them still arrives
        magdeburg = await stack.login(kommune("15003"))
        need = await report(magdeburg, "Nach dem Gift")
        await (await stack.login()).patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
        await stack.mailbox.wait_for(kommune("15003"), 1, timeout=20)

        admin = await admin_client(stack)
        for _ in range(50):
            parked = (await admin.get("/api/v1/admin/parked-events")).json()["items"]  # type: ignore[attr-defined]
            if len(parked) >= 3:
                break
            await asyncio.sleep(0.1)
        reasons = {(p["consumer"].split("_", 1)[1], p["type"]): p["reason"] for p in parked}
        assert "unbrauchbare Daten" in reasons[("notifications-fanout", "need.status_changed")]
        assert any(k[1] is None and "nicht lesbar" in v for k, v in reasons.items())

    async def test_only_admins_see_parked_events(self, stack: Stack) -> None:
        ministry = await stack.login()
        assert (await ministry.get("/api/v1/admin/parked-events")).status_code == 403
