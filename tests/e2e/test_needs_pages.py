"""The needs and pilot pages through the gateway, without JavaScript (plain form posts)."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report


async def page_login(stack: Stack, email: str) -> httpx.AsyncClient:
    client = stack.client(follow_redirects=True)
    form = await client.get("/anmelden")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    done = await client.post(
        "/anmelden", data={"email": email, "password": "gdst-demo", "csrf_token": token.group(1)}
    )
    assert done.status_code == 200
    return client


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


class TestNeedPages:
    async def test_check_similar_then_support_instead_of_duplicate(self, stack: Stack) -> None:
        existing = await report(
            await stack.login(kommune("15003")),
            "Dokumentenmanagementsystem einführen",
            "Revisionssichere Ablage.",
        )
        halle = await page_login(stack, kommune("15002"))
        form = await halle.get("/bedarfe/neu")
        assert form.status_code == 200 and "Ähnliche Bedarfe prüfen" in form.text
        checked = await halle.post(
            "/bedarfe/neu",
            data={
                "csrf_token": csrf(form.text),
                "action": "check",
                "title": "DMS-Einführung",
                "description": "",
                "category": "",
                "tags": "",
            },
        )
        assert checked.status_code == 200
        assert f"/bedarfe/{existing['id']}/betroffen" in checked.text, "the similar need is offered"
        assert 'value="DMS-Einführung"' in checked.text, "what was typed is kept"
        supported = await halle.post(
            f"/bedarfe/{existing['id']}/betroffen", data={"csrf_token": csrf(checked.text)}
        )
        assert supported.status_code == 200 and "als betroffen eingetragen" in supported.text
        assert re.search(r'data-testid="supporter-count">2<', supported.text)
        needs = (await (await stack.login(kommune("15002"))).get("/api/v1/needs")).json()["items"]
        assert len(needs) == 1, "no duplicate need was created"

    async def test_report_with_errors_then_success(self, stack: Stack) -> None:
        client = await page_login(stack, kommune("15003"))
        form = await client.get("/bedarfe/neu")
        bad = await client.post(
            "/bedarfe/neu",
            data={
                "csrf_token": csrf(form.text),
                "action": "report",
                "title": "",
                "description": "",
                "category": "",
                "tags": "",
            },
        )
        assert bad.status_code == 422
        assert 'role="alert"' in bad.text and 'href="#title"' in bad.text and 'href="#category"' in bad.text
        good = await client.post(
            "/bedarfe/neu",
            data={
                "csrf_token": csrf(form.text),
                "action": "report",
                "title": "Mängelmelder",
                "description": "Schlaglöcher melden",
                "category": "querschnitt",
                "tags": "App, Straße",
            },
        )
        assert good.status_code == 200 and "Ihr Bedarf ist gemeldet" in good.text
        assert "Mängelmelder" in (await client.get("/bedarfe")).text

    async def test_forms_without_csrf_change_nothing(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Open Data Portal")
        client = await page_login(stack, kommune("15002"))
        response = await client.post(f"/bedarfe/{need['id']}/betroffen", data={"csrf_token": "falsch"})
        assert response.status_code == 403 and "abgelaufen" in response.text
        assert (await client.get(f"/bedarfe/{need['id']}")).text.count("meldende Kommune") == 1
        api = await stack.login(kommune("15002"))
        assert (await api.get(f"/api/v1/needs/{need['id']}")).json()["supporter_count"] == 1

    async def test_status_and_solution_forms(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Ratsinformationssystem")
        ministry = await page_login(stack, "ministerium@gdst.example")
        page = await ministry.get(f"/bedarfe/{need['id']}")
        rejected = await ministry.post(
            f"/bedarfe/{need['id']}/status",
            data={"csrf_token": csrf(page.text), "status": "abgelehnt", "reason": ""},
        )
        assert rejected.status_code == 422 and 'href="#reason"' in rejected.text
        moved = await ministry.post(
            f"/bedarfe/{need['id']}/status",
            data={"csrf_token": csrf(page.text), "status": "in_pruefung", "reason": ""},
        )
        assert moved.status_code == 200 and re.search(r'data-testid="status">In Prüfung<', moved.text)
        solution = await ministry.post(
            f"/bedarfe/{need['id']}/loesungen",
            data={
                "csrf_token": csrf(page.text),
                "solution_title": "EfA-Dienst",
                "solution_description": "Nachnutzen",
                "solution_kind": "efa_onlinedienst",
                "solution_url": "https://example.org",
            },
        )
        assert solution.status_code == 200 and "EfA-Dienst" in solution.text

    async def test_pilot_pages(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "E-Akte")
        ministry = await page_login(stack, "ministerium@gdst.example")
        form = await ministry.get(f"/piloten/neu?bedarf={need['id']}")
        assert form.status_code == 200
        opened = await ministry.post(
            "/piloten/neu",
            data={
                "csrf_token": csrf(form.text),
                "title": "Pilot E-Akte",
                "description": "Erprobung",
                "capacity": "1",
                "signup_closes_at": "2099-12-31",
                "need_ids": need["id"],
            },
        )
        assert opened.status_code == 200 and "Pilotvorhaben ist eröffnet" in opened.text
        pilot_url = str(opened.url).split("?")[0]
        halle = await page_login(stack, kommune("15002"))
        page = await halle.get(pilot_url)
        signed = await halle.post(
            f"{pilot_url}/anmeldung",
            data={
                "csrf_token": csrf(page.text),
                "contact_name": "Hanna Halle",
                "contact_email": "hanna@halle.example",
                "note": "",
            },
        )
        assert signed.status_code == 200 and re.search(r'data-testid="my-signup">Platz sicher', signed.text)
        dessau = await page_login(stack, kommune("15001"))
        page = await dessau.get(pilot_url)
        bad = await dessau.post(
            f"{pilot_url}/anmeldung",
            data={"csrf_token": csrf(page.text), "contact_name": "", "contact_email": "kaputt", "note": ""},
        )
        assert bad.status_code == 422 and 'href="#contact_email"' in bad.text
        waiting = await dessau.post(
            f"{pilot_url}/anmeldung",
            data={
                "csrf_token": csrf(page.text),
                "contact_name": "Dirk",
                "contact_email": "dirk@dessau.example",
                "note": "",
            },
        )
        assert re.search(r'data-testid="my-signup">Warteliste, Position 1', waiting.text)
        members_page = await ministry.get(pilot_url)
        chosen = await ministry.post(
            f"{pilot_url}/auswahl", data={"csrf_token": csrf(members_page.text), "organisation_ids": "15001"}
        )
        assert chosen.status_code == 200 and "Ausgewählt" in chosen.text
        assert "Pilot E-Akte" in (await halle.get("/piloten")).text

    async def test_pages_need_login(self, stack: Stack) -> None:
        async with stack.client() as anonymous:
            response = await anonymous.get("/bedarfe")
        assert response.status_code in (302, 303) and response.headers["location"].startswith("/anmelden")

    async def test_pages_in_english(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Open Data Portal", category="querschnitt")
        client = await page_login(stack, kommune("15002"))
        client.cookies.set("gdst_lang", "en")
        listing = await client.get("/bedarfe")
        assert (
            '<html lang="en">' in listing.text
            and ">Needs</h1>" in listing.text
            and "Cross-cutting" in listing.text
        )
        detail = await client.get(f"/bedarfe/{need['id']}")
        assert "Affects us too" in detail.text and "Status history" in detail.text
