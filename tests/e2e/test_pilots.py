"""Pilots: sign-up, capacity, waitlist, deadline, selection, and no over-booking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Stack
from tests.e2e.needs_support import KOMMUNEN, kommune, report


async def open_pilot(
    stack: Stack, capacity: int, closes_in: timedelta = timedelta(days=14)
) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    need = await report(await stack.login(kommune("15003")), "E-Akte einführen")
    ministry = await stack.login()
    response = await ministry.post(
        "/api/v1/pilots",
        json={
            "title": "Pilot E-Akte",
            "description": "Erprobung in Kommunen",
            "need_ids": [need["id"]],
            "capacity": capacity,
            "signup_closes_at": (datetime.now(UTC) + closes_in).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return ministry, response.json()


def contact(ags: str) -> dict[str, str]:
    return {"contact_name": f"Kontakt {ags}", "contact_email": f"it@{ags}.example"}


class TestPilots:
    async def test_capacity_waitlist_and_moving_up(self, stack: Stack) -> None:
        ministry, pilot = await open_pilot(stack, capacity=2)
        clients = {a: await stack.login(kommune(a)) for a in ("15001", "15002", "15003", "15081")}
        results = []
        for ags, client in clients.items():
            r = await client.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact(ags))
            assert r.status_code == 200, r.text
            results.append(r.json())
        assert results == [
            {"status": "confirmed", "position": 1},
            {"status": "confirmed", "position": 2},
            {"status": "waitlisted", "position": 1},
            {"status": "waitlisted", "position": 2},
        ]
        again = await clients["15003"].put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact("15003"))
        assert again.json() == {"status": "waitlisted", "position": 1}, "signing up twice changes nothing"

        assert (await clients["15001"].delete(f"/api/v1/pilots/{pilot['id']}/signup")).status_code == 204
        view = (await ministry.get(f"/api/v1/pilots/{pilot['id']}")).json()
        status = {s["organisation"]["id"]: (s["status"], s["position"]) for s in view["signups"]}
        assert status == {
            "15002": ("confirmed", 1),
            "15003": ("confirmed", 2),
            "15081": ("waitlisted", 1),
            "15001": ("withdrawn", 0),
        }
        assert view["seats_left"] == 0
        need_view = (await ministry.get(f"/api/v1/needs/{pilot['need_ids'][0]}")).json()
        assert need_view["pilots"][0]["id"] == pilot["id"]

    async def test_ten_at_once_for_three_seats(self, stack: Stack) -> None:
        ministry, pilot = await open_pilot(stack, capacity=3)
        clients = [(a, await stack.login(kommune(a))) for a in KOMMUNEN[:10]]
        responses = await asyncio.gather(
            *[c.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact(a)) for a, c in clients]
        )
        assert all(r.status_code == 200 for r in responses)
        view = (await ministry.get(f"/api/v1/pilots/{pilot['id']}")).json()
        statuses = [s["status"] for s in view["signups"]]
        assert statuses.count("confirmed") == 3 and statuses.count("waitlisted") == 7
        assert [s["position"] for s in view["signups"] if s["status"] == "waitlisted"] == list(range(1, 8))
        # each Kommune was told what the pilot now says about it
        told = {a: r.json() for (a, _), r in zip(clients, responses, strict=True)}
        shown = {
            s["organisation"]["id"]: {"status": s["status"], "position": s["position"]}
            for s in view["signups"]
        }
        assert told == shown
        # the order is stable: asking again gives the same list
        assert (await ministry.get(f"/api/v1/pilots/{pilot['id']}")).json()["signups"] == view["signups"]

    async def test_deadline_and_selection(self, stack: Stack) -> None:
        ministry, pilot = await open_pilot(stack, capacity=2, closes_in=timedelta(seconds=2))
        halle, dessau, magdeburg = [await stack.login(kommune(a)) for a in ("15002", "15001", "15003")]
        await halle.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact("15002"))
        await dessau.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact("15001"))
        await asyncio.sleep(2.2)
        late = await magdeburg.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact("15003"))
        assert late.status_code == 409
        not_ministry = await halle.post(
            f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": ["15002"]}
        )
        assert not_ministry.status_code == 403
        unknown = await ministry.post(
            f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": ["15003"]}
        )
        assert unknown.status_code == 422
        chosen = await ministry.post(
            f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": ["15001"]}
        )
        assert chosen.status_code == 200
        assert {s["organisation"]["id"]: s["status"] for s in chosen.json()["signups"]} == {
            "15002": "declined",
            "15001": "selected",
        }
        assert (
            await ministry.post(
                f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": ["15002"]}
            )
        ).status_code == 409

    async def test_contacts_are_visible_to_the_kommune_itself_and_the_ministry_only(
        self, stack: Stack
    ) -> None:
        ministry, pilot = await open_pilot(stack, capacity=5)
        halle, dessau = await stack.login(kommune("15002")), await stack.login(kommune("15001"))
        await halle.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact("15002"))
        seen_by_dessau = (await dessau.get(f"/api/v1/pilots/{pilot['id']}")).json()["signups"][0]
        assert seen_by_dessau["contact_email"] is None
        assert (await halle.get(f"/api/v1/pilots/{pilot['id']}")).json()["signups"][0][
            "contact_email"
        ] == "it@15002.example"
        assert (await ministry.get(f"/api/v1/pilots/{pilot['id']}")).json()["signups"][0][
            "contact_email"
        ] == "it@15002.example"

    async def test_bad_pilot_input(self, stack: Stack) -> None:
        ministry = await stack.login()
        past = await ministry.post(
            "/api/v1/pilots",
            json={
                "title": "Pilot",
                "description": "x",
                "need_ids": ["nix"],
                "capacity": 3,
                "signup_closes_at": "2020-01-01T00:00:00+00:00",
            },
        )
        assert past.status_code == 422
        zero = await ministry.post(
            "/api/v1/pilots",
            json={
                "title": "Pilot",
                "description": "x",
                "need_ids": ["nix"],
                "capacity": 0,
                "signup_closes_at": "2030-01-01T00:00:00+00:00",
            },
        )
        assert zero.status_code == 422 and zero.json()["errors"][0]["field"] == "capacity"
        member = await stack.login(kommune("15003"))
        need = await report(member, "Pilotfähiger Bedarf")
        forbidden = await member.post(
            "/api/v1/pilots",
            json={
                "title": "Pilot",
                "description": "x",
                "need_ids": [need["id"]],
                "capacity": 3,
                "signup_closes_at": "2030-01-01T00:00:00+00:00",
            },
        )
        assert forbidden.status_code == 403
        _, pilot = await open_pilot(stack, capacity=1)
        bad_mail = await member.put(
            f"/api/v1/pilots/{pilot['id']}/signup", json={"contact_name": "X", "contact_email": "nein"}
        )
        assert bad_mail.status_code == 422
        assert (
            await member.put("/api/v1/pilots/gibtsnicht/signup", json=contact("15003"))
        ).status_code == 404
        assert (await ministry.get(f"/api/v1/pilots/{pilot['id']}")).json()["signups"] == []

    async def test_a_kommune_cannot_withdraw_another_kommunes_signup(self, stack: Stack) -> None:
        ministry, pilot = await open_pilot(stack, capacity=2)
        halle, dessau = await stack.login(kommune("15002")), await stack.login(kommune("15001"))
        await halle.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact("15002"))
        # Dessau's DELETE can only ever mean Dessau's own sign-up
        assert (await dessau.delete(f"/api/v1/pilots/{pilot['id']}/signup")).status_code == 204
        view = (await ministry.get(f"/api/v1/pilots/{pilot['id']}")).json()
        assert [(s["organisation"]["id"], s["status"]) for s in view["signups"]] == [("15002", "confirmed")]

    async def test_withdrawal_right_after_signing_up_is_never_lost(self, stack: Stack) -> None:
        # the outbox relay once cleared a sign-up's outbox with a read-modify-write on FerretDB
        # while the withdrawal was written to the same document, and wrote the old state back
        ministry, pilot = await open_pilot(stack, capacity=1)
        halle = await stack.login(kommune("15002"))
        for _ in range(10):
            assert (
                await halle.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact("15002"))
            ).status_code == 200
            assert (await halle.delete(f"/api/v1/pilots/{pilot['id']}/signup")).status_code == 204
            await asyncio.sleep(0.05)
            view = (await ministry.get(f"/api/v1/pilots/{pilot['id']}")).json()
            assert [s["status"] for s in view["signups"]] == ["withdrawn"]
            assert view["seats_left"] == 1
