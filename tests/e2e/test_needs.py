"""Needs through the gateway on the real stack: report, similar, support, rank, status, solutions."""

from __future__ import annotations

import asyncio

import pytest

from services.directory.cli import import_organisations
from services.runtime import mongo
from tests.conftest import Stack
from tests.e2e.needs_support import KOMMUNEN, POPULATION, kommune, report
from tests.support.register import REGISTER, needs_register, register_rows


async def documents(stack: Stack, collection: str) -> int:
    client = mongo.client(stack.settings.mongodb_url)
    try:
        return await client[stack.settings.names.database("needs")][collection].count_documents({})
    finally:
        await client.close()


class TestReportAndSupport:
    async def test_report_counts_the_reporting_kommune(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune("15003"))
        need = await report(
            magdeburg,
            "Dokumentenmanagementsystem einführen",
            category="prozesse-organisation",
            tags=["DMS", " dms ", "E-Akte"],
        )
        assert need["organisation"]["id"] == "15003" and need["status"] == "neu"
        assert need["supporter_count"] == 1 and need["affected_inhabitants"] == POPULATION["15003"]
        assert need["tags"] == ["DMS", "E-Akte"], "tags are trimmed and de-duplicated"
        assert need["reported_by_me"] is True

    async def test_support_is_per_kommune_idempotent_and_withdrawable(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Videokonferenzen für Ratssitzungen")
        halle = await stack.login(kommune("15002"))
        first = await halle.put(
            f"/api/v1/needs/{need['id']}/support", json={"comment": "Bei uns auch dringend"}
        )
        again = await halle.put(f"/api/v1/needs/{need['id']}/support")
        assert first.status_code == again.status_code == 200
        assert again.json()["supporter_count"] == 2, "a second click does not count twice"
        assert again.json()["affected_inhabitants"] == POPULATION["15003"] + POPULATION["15002"]
        detail = (await halle.get(f"/api/v1/needs/{need['id']}")).json()
        assert [s["organisation"]["id"] for s in detail["supporters"]] == ["15003", "15002"]
        assert detail["supporters"][1]["comment"] == "Bei uns auch dringend" and detail["supported_by_me"]
        # marking again with a new comment keeps the one support and takes the new words
        changed = await halle.put(f"/api/v1/needs/{need['id']}/support", json={"comment": "Sehr dringend"})
        assert changed.status_code == 200 and changed.json()["supporter_count"] == 2
        detail = (await halle.get(f"/api/v1/needs/{need['id']}")).json()
        assert [s["comment"] for s in detail["supporters"]][1:] == ["Sehr dringend"]

        assert (await halle.delete(f"/api/v1/needs/{need['id']}/support")).status_code == 204
        assert (await halle.delete(f"/api/v1/needs/{need['id']}/support")).status_code == 204
        assert (await halle.get(f"/api/v1/needs/{need['id']}")).json()["supporter_count"] == 1

    async def test_twenty_kommunen_at_once_count_exactly_twenty(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune(KOMMUNEN[0])), "Gemeinsames Rechenzentrum")
        clients = [await stack.login(kommune(ags)) for ags in KOMMUNEN[1:21]]
        # every Kommune clicks twice at the same moment
        responses = await asyncio.gather(
            *[c.put(f"/api/v1/needs/{need['id']}/support") for c in clients for _ in range(2)]
        )
        assert all(r.status_code == 200 for r in responses)
        detail = (await clients[0].get(f"/api/v1/needs/{need['id']}")).json()
        assert detail["supporter_count"] == 21, "20 supporters plus the reporting Kommune"
        assert len({s["organisation"]["id"] for s in detail["supporters"]}) == 21
        assert detail["affected_inhabitants"] == sum(POPULATION[a] for a in KOMMUNEN[:21])

    @needs_register
    async def test_a_kommune_imported_after_the_service_read_all_can_mark_at_once(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Ratsinformationssystem")
        # the needs service reads all organisations with this first mark and keeps them
        assert (
            await (await stack.login(kommune("15002"))).put(f"/api/v1/needs/{need['id']}/support")
        ).status_code == 200
        await import_organisations(stack.settings, REGISTER)
        row = next(r for r in register_rows() if r["kind"] == "Gemeinde" and r["ags"] not in POPULATION)
        ministry = await stack.login()
        created = await ministry.post(
            "/api/v1/people",
            json={
                "email": "neu@gdst.example",
                "name": "Neu",
                "organisation_id": row["ags"],
                "roles": ["member"],
                "password": "neu-im-register-123",
            },
        )
        assert created.status_code == 201, created.text
        newcomer = await stack.login("neu@gdst.example", "neu-im-register-123")
        marked = await newcomer.put(f"/api/v1/needs/{need['id']}/support")
        assert marked.status_code == 200, marked.text
        detail = (await newcomer.get(f"/api/v1/needs/{need['id']}")).json()
        assert [s["organisation"]["name"] for s in detail["supporters"]][-1] == row["name"]
        assert detail["supporter_count"] == 3

    async def test_reporting_kommune_cannot_withdraw_and_others_cannot_touch_its_support(
        self, stack: Stack
    ) -> None:
        magdeburg = await stack.login(kommune("15003"))
        need = await report(magdeburg, "Glasfaser für die Außenstellen")
        assert (await magdeburg.delete(f"/api/v1/needs/{need['id']}/support")).status_code == 409
        halle, dessau = await stack.login(kommune("15002")), await stack.login(kommune("15001"))
        await halle.put(f"/api/v1/needs/{need['id']}/support")
        # Dessau's withdrawal concerns Dessau only: Halle's support stays
        assert (await dessau.delete(f"/api/v1/needs/{need['id']}/support")).status_code == 204
        assert (await halle.get(f"/api/v1/needs/{need['id']}")).json()["supporter_count"] == 2

    async def test_ministry_cannot_report_for_a_kommune(self, stack: Stack) -> None:
        ministry = await stack.login()
        response = await ministry.post(
            "/api/v1/needs", json={"title": "Ein Bedarf", "description": "x", "category": "recht"}
        )
        assert response.status_code == 403


class TestSimilar:
    async def test_compound_and_abbreviation_find_each_other(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune("15003"))
        dms = await report(
            magdeburg,
            "Dokumentenmanagementsystem für die Kernverwaltung",
            "Revisionssichere Ablage aller Vorgänge.",
        )
        await report(magdeburg, "WLAN in Schulen", "Drahtloses Netz für den Unterricht.")
        await report(magdeburg, "Hundesteuer online anmelden", "Anmeldung von Hunden im Internet.")
        response = await magdeburg.get(
            "/api/v1/needs/similar", params={"text": "DMS-Einführung in der Stadtverwaltung"}
        )
        assert response.status_code == 200
        items = response.json()["items"]
        assert items and items[0]["id"] == dms["id"]
        assert items[0]["score"] > 0 and set(items[0]) >= {"id", "title", "score"}
        umlaut = await magdeburg.get(
            "/api/v1/needs/similar", params={"text": "Dokumentenmanagement fuer die Ablage"}
        )
        assert umlaut.json()["items"][0]["id"] == dms["id"]

    async def test_unrelated_text_finds_nothing(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune("15003"))
        await report(magdeburg, "Dokumentenmanagementsystem", "Ablage.")
        response = await magdeburg.get("/api/v1/needs/similar", params={"text": "Friedhof Grabstellen"})
        assert response.json()["items"] == []


class TestBrowseAndRank:
    async def test_filters_sorting_and_keyset_pages(self, stack: Stack) -> None:
        magdeburg, halle, dessau = [await stack.login(kommune(a)) for a in ("15003", "15002", "15001")]
        small = await report(magdeburg, "Friedhofsverwaltung digitalisieren", category="querschnitt")
        big = await report(magdeburg, "Elektronischer Rechnungseingang", category="finanzierung")
        mid = await report(dessau, "Online-Terminvergabe im Bürgerbüro", category="querschnitt")
        await halle.put(f"/api/v1/needs/{big['id']}/support")
        await dessau.put(f"/api/v1/needs/{big['id']}/support")
        await halle.put(f"/api/v1/needs/{mid['id']}/support")

        ranked = (await magdeburg.get("/api/v1/needs", params={"sort": "supporters"})).json()["items"]
        assert [n["id"] for n in ranked] == [big["id"], mid["id"], small["id"]]
        assert [n["supporter_count"] for n in ranked] == [3, 2, 1]
        recent = (await magdeburg.get("/api/v1/needs", params={"sort": "recent"})).json()["items"]
        assert [n["id"] for n in recent] == [mid["id"], big["id"], small["id"]]
        by_inhabitants = (await magdeburg.get("/api/v1/needs", params={"sort": "inhabitants"})).json()[
            "items"
        ]
        assert by_inhabitants[0]["affected_inhabitants"] >= by_inhabitants[1]["affected_inhabitants"]

        category = (await magdeburg.get("/api/v1/needs", params={"category": "querschnitt"})).json()["items"]
        assert {n["id"] for n in category} == {small["id"], mid["id"]}
        search = (await magdeburg.get("/api/v1/needs", params={"q": "rechnung"})).json()["items"]
        assert [n["id"] for n in search] == [big["id"]]
        search_inflected = (await magdeburg.get("/api/v1/needs", params={"q": "Friedhöfe"})).json()["items"]
        assert [n["id"] for n in search_inflected] == [small["id"]]

        first = (await magdeburg.get("/api/v1/needs", params={"limit": 2})).json()
        second = (
            await magdeburg.get("/api/v1/needs", params={"limit": 2, "cursor": first["next_cursor"]})
        ).json()
        assert [n["id"] for n in first["items"] + second["items"]] == [n["id"] for n in ranked]
        assert second["next_cursor"] is None

    async def test_landkreis_filter(self, stack: Stack) -> None:
        bitterfeld = await stack.login(kommune("15082015"))  # Bitterfeld-Wolfen in Anhalt-Bitterfeld
        magdeburg = await stack.login(kommune("15003"))
        in_kreis = await report(bitterfeld, "Mängelmelder-App")
        elsewhere = await report(magdeburg, "Open Data Portal")
        await bitterfeld.put(f"/api/v1/needs/{elsewhere['id']}/support")
        await report(magdeburg, "Wahlhelferverwaltung")
        ministry = await stack.login()
        found = (await ministry.get("/api/v1/needs", params={"landkreis": "15082"})).json()["items"]
        assert {n["id"] for n in found} == {in_kreis["id"], elsewhere["id"]}

    async def test_bad_cursor_and_filters(self, stack: Stack) -> None:
        client = await stack.login(kommune("15003"))
        assert (await client.get("/api/v1/needs", params={"cursor": "kaputt!!"})).status_code == 400
        assert (await client.get("/api/v1/needs", params={"category": "weltraum"})).status_code in (400, 422)
        assert (await client.get("/api/v1/needs", params={"sort": "zufall"})).status_code in (400, 422)


class TestStatusAndSolutions:
    async def test_status_flow_with_history(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Ratsinformationssystem modernisieren")
        ministry = await stack.login()
        for status in ("in_pruefung", "in_umsetzung", "geloest"):
            response = await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": status})
            assert response.status_code == 200, response.text
        detail = response.json()
        assert detail["status"] == "geloest"
        assert [h["status"] for h in detail["status_history"]] == [
            "neu",
            "in_pruefung",
            "in_umsetzung",
            "geloest",
        ]

    async def test_rejection_needs_a_reason_and_wrong_moves_conflict(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Chatbot für Bürgeranfragen")
        ministry = await stack.login()
        no_reason = await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "abgelehnt"})
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
        jump = await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "geloest"})
        assert jump.status_code == 409
        rejected = await ministry.patch(
            f"/api/v1/needs/{need['id']}", json={"status": "abgelehnt", "reason": "Landeslösung kommt 2027"}
        )
        assert rejected.status_code == 200
        assert rejected.json()["status_history"][-1]["reason"] == "Landeslösung kommt 2027"

    async def test_member_cannot_change_status(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune("15003"))
        need = await report(magdeburg, "Open Data Portal")
        response = await magdeburg.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
        assert response.status_code == 403
        assert (await magdeburg.get(f"/api/v1/needs/{need['id']}")).json()["status"] == "neu"

    async def test_solutions(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Hundesteuer online anmelden")
        halle = await stack.login(kommune("15002"))
        created = await halle.post(
            f"/api/v1/needs/{need['id']}/solutions",
            json={
                "title": "EfA-Dienst Hundesteuer",
                "description": "Nachnutzbar aus Land X.",
                "kind": "efa_onlinedienst",
                "url": "https://example.org/hundesteuer",
            },
        )
        assert created.status_code == 201, created.text
        detail = (await halle.get(f"/api/v1/needs/{need['id']}")).json()
        assert [s["title"] for s in detail["solutions"]] == ["EfA-Dienst Hundesteuer"]
        assert detail["solutions"][0]["organisation"]["id"] == "15002"


class TestNeedsBadInput:
    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"title": "", "description": "x", "category": "recht"}, 422, "title"),
            ({"title": "Titel", "description": "x" * 100_000, "category": "recht"}, 413, None),
            ({"title": "Titel", "description": "x" * 10_001, "category": "recht"}, 422, "description"),
            ({"title": "Titel", "description": "x", "category": "weltraum"}, 422, "category"),
            ({"title": "Titel", "description": "x", "category": "recht", "tags": ["<b>"]}, 422, "tags"),
            ({"title": {"$gt": ""}, "description": "x", "category": "recht"}, 422, "title"),
            ({"description": "x", "category": "recht"}, 422, "title"),
        ],
    )
    async def test_report_rejects_and_stores_nothing(
        self, stack: Stack, body: dict[str, object], status: int, field: str | None
    ) -> None:
        client = await stack.login(kommune("15003"))
        response = await client.post("/api/v1/needs", json=body)
        assert response.status_code == status, response.text
        if field:
            assert any(e["field"].split("[")[0] == field for e in response.json()["errors"])
        assert await documents(stack, "needs") == 0 and await documents(stack, "supports") == 0

    async def test_unknown_need(self, stack: Stack) -> None:
        client = await stack.login(kommune("15003"))
        assert (await client.put("/api/v1/needs/gibtsnicht/support")).status_code == 404
        assert (await client.get("/api/v1/needs/gibtsnicht")).status_code == 404
        assert (
            await client.post(
                "/api/v1/needs/gibtsnicht/solutions",
                json={"title": "Titel", "description": "x", "kind": "produkt"},
            )
        ).status_code == 404
        assert await documents(stack, "supports") == 0 and await documents(stack, "solutions") == 0

    async def test_bad_solution(self, stack: Stack) -> None:
        client = await stack.login(kommune("15003"))
        need = await report(client, "Gewerbeanmeldung online")
        bad = await client.post(
            f"/api/v1/needs/{need['id']}/solutions",
            json={"title": "Titel", "description": "x", "kind": "produkt", "url": "javascript:alert(1)"},
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "url"
        assert await documents(stack, "solutions") == 0
