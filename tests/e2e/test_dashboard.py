"""The dashboard "Zahlen und Fakten": every figure equals a count the test makes itself from
what it created, overall and per Landkreis; a missing service reads "nicht verfügbar"."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.contracts.directory import Organisation
from services.directory.seed import demo_organisations
from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report
from tests.e2e.surveys_support import GOOD_ANSWERS, published

HARZ, HALBERSTADT, MAGDEBURG = "15085", "15085135", "15003"
# two municipalities of the Harz added by the test: one with an active member, one with only
# a pending invitation (not participating)
ACTIVE_DORF = Organisation(
    id="15085901", name="Aktivdorf", kind="gemeinde", ags="15085901", parent_id=HARZ, population=1200
)
INVITED_DORF = Organisation(
    id="15085902", name="Wartedorf", kind="gemeinde", ags="15085902", parent_id=HARZ, population=800
)


async def spotlight(
    lotse: httpx.AsyncClient, ministry: httpx.AsyncClient, need: dict[str, Any], *steps: str
) -> None:
    body = {
        "title": f"Vorschlag zu {need['title']}",
        "proposal": "Vorschlag.",
        "reasoning": "Begründung.",
        "ressort_ids": ["ressort-mid", "ressort-mi"],
        "need_id": need["id"],
        "group_id": "ag-umsetzung",
    }
    created = await lotse.post("/api/v1/spotlights", json=body)
    assert created.status_code == 201, created.text
    for step in steps:
        who = lotse if step == "eingereicht" else ministry
        changed = await who.patch(
            f"/api/v1/spotlights/{created.json()['id']}",
            json={"status": step, "comment": "ok", "answer": "Erledigt."},
        )
        assert changed.status_code == 200, changed.text


class TestDashboard:
    async def test_figures_equal_independent_counts_overall_and_per_landkreis(self, stack: Stack) -> None:
        directory = stack.processes["directory"].parts["repository"]
        for org in (ACTIVE_DORF, INVITED_DORF):
            await directory.upsert_organisation(org)
        ministry = await stack.login()
        people = [
            ("aktiv@aktivdorf.example", ACTIVE_DORF.id, ["member"], "gdst-demo-test"),
            ("lotse@land.example", "15", ["lotse"], "gdst-demo-test"),
        ]
        for email, org, roles, password in people:
            body = {
                "email": email,
                "name": email,
                "organisation_id": org,
                "roles": roles,
                "password": password,
            }
            assert (await ministry.post("/api/v1/people", json=body)).status_code == 201
        invite = {
            "email": "neu@wartedorf.example",
            "name": "Neu",
            "organisation_id": INVITED_DORF.id,
            "roles": ["member"],
        }
        assert (await ministry.post("/api/v1/invitations", json=invite)).status_code == 201
        lotse = await stack.login("lotse@land.example", "gdst-demo-test")

        magdeburg, halberstadt = (
            await stack.login(kommune(MAGDEBURG)),
            await stack.login(kommune(HALBERSTADT)),
        )
        need_m1 = await report(magdeburg, "Digitale Bauakte")
        need_m2 = await report(magdeburg, "Online-Terminvergabe")
        need_h = await report(halberstadt, "WLAN in Schulen")
        patched = await ministry.patch(f"/api/v1/needs/{need_m2['id']}", json={"status": "in_pruefung"})
        assert patched.status_code == 200, patched.text

        closes = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        pilot_body = {
            "title": "WLAN-Pilot",
            "description": "Erprobung",
            "need_ids": [need_h["id"]],
            "capacity": 3,
            "signup_closes_at": closes,
        }
        pilot = (await ministry.post("/api/v1/pilots", json=pilot_body)).json()
        contact = {"contact_name": "IT", "contact_email": "it@halberstadt.example"}
        assert (
            await halberstadt.put(f"/api/v1/pilots/{pilot['id']}/signup", json=contact)
        ).status_code == 200
        chosen = await ministry.post(
            f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": [HALBERSTADT]}
        )
        assert chosen.status_code == 200, chosen.text
        pilot_body["title"] = "Noch offen"
        assert (await ministry.post("/api/v1/pilots", json=pilot_body)).status_code == 201

        survey = await published(
            ministry, audience={"kind": "organisations", "ids": [MAGDEBURG, HALBERSTADT]}
        )
        url = f"/api/v1/surveys/{survey['id']}/response"
        assert (await halberstadt.put(url, json={"answers": GOOD_ANSWERS})).status_code == 200
        assert (await halberstadt.post(f"{url}/submit")).status_code == 200

        await spotlight(lotse, ministry, need_h, "eingereicht", "in_pruefung", "umgesetzt")
        await spotlight(lotse, ministry, need_m1, "eingereicht")
        await spotlight(lotse, ministry, need_h)  # a draft: not yet a Spotlight of the AG's record

        # --- counts made here, from the seed file and what this test created ---------------
        demo = demo_organisations()
        kreise = [o for o in demo if o.kind in ("landkreis", "kreisfreie_stadt")]
        land_inhabitants = sum(o.population or 0 for o in kreise)
        harz = next(o for o in demo if o.id == HARZ)
        in_harz = [o for o in demo if o.ags.startswith(HARZ)]

        board = (await ministry.get("/api/v1/dashboard")).json()
        p = board["participation"]
        # every demo Kommune has one demo login; plus Aktivdorf; Wartedorf only invited
        assert (p["kommunen"], p["participating"], p["members"]) == (
            len(demo) + 2,
            len(demo) + 1,
            len(demo) + 1,
        )
        assert p["share_of_kommunen"] == round((len(demo) + 1) / (len(demo) + 2), 4)
        assert (p["inhabitants"], p["participating_inhabitants"]) == (land_inhabitants, land_inhabitants)
        assert board["ressorts"] == 9
        assert board["needs"]["total"] == 3
        assert board["needs"]["by_status"] == {
            "neu": 2,
            "in_pruefung": 1,
            "in_umsetzung": 0,
            "geloest": 0,
            "abgelehnt": 0,
        }
        assert (board["pilots_running"], board["pilots_open"]) == (1, 1)
        assert board["spotlights"]["total"] == 2 and board["spotlights"]["umgesetzt"] == 1
        assert board["spotlights"]["by_status"] == {
            "eingereicht": 1,
            "in_pruefung": 0,
            "umgesetzt": 1,
            "abgelehnt": 0,
        }
        assert board["responses"] == {"surveys": 1, "addressed": 2, "submitted": 1, "rate": 0.5}
        if "meetings" in stack.processes:  # once the meetings service is part of the stack
            assert (board["meetings_held"], board["ag_meetings_held"], board["unavailable"]) == (0, 0, [])
        else:
            assert board["meetings_held"] is None and board["ag_meetings_held"] is None
            assert board["unavailable"] == ["meetings"]

        rows = {r["kreis"]: r for r in board["by_kreis"]}
        assert set(rows) == {k.id for k in kreise}
        harz_row = rows[HARZ]
        assert (harz_row["kommunen"], harz_row["participating"], harz_row["needs"]) == (
            len(in_harz) + 2,
            len(in_harz) + 1,
            1,
        )
        assert (harz_row["spotlights"], harz_row["spotlights_done"], harz_row["response_rate"]) == (1, 1, 1.0)
        assert (rows[MAGDEBURG]["needs"], rows[MAGDEBURG]["response_rate"]) == (2, 0.0)

        harz_board = (await ministry.get("/api/v1/dashboard", params={"kreis": HARZ})).json()
        hp = harz_board["participation"]
        assert harz_board["scope"] == {"kreis": HARZ, "name": harz.name} and harz_board["by_kreis"] == []
        assert (hp["kommunen"], hp["participating"], hp["members"]) == (
            len(in_harz) + 2,
            len(in_harz) + 1,
            len(in_harz) + 1,
        )
        assert hp["inhabitants"] == hp["participating_inhabitants"] == harz.population
        assert harz_board["needs"]["total"] == 1 and harz_board["needs"]["by_status"]["neu"] == 1
        assert harz_board["pilots_running"] == 1
        assert (harz_board["spotlights"]["total"], harz_board["spotlights"]["umgesetzt"]) == (1, 1)
        assert harz_board["responses"] == {"surveys": 1, "addressed": 1, "submitted": 1, "rate": 1.0}
        md_board = (await ministry.get("/api/v1/dashboard", params={"kreis": MAGDEBURG})).json()
        assert md_board["needs"]["by_status"]["in_pruefung"] == 1 and md_board["pilots_running"] == 0
        assert md_board["responses"]["rate"] == 0.0 and md_board["spotlights"]["umgesetzt"] == 0

        unknown = await ministry.get("/api/v1/dashboard", params={"kreis": "15999"})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "kreis"

        page = await halberstadt.get("/zahlen", params={"kreis": HARZ})
        assert page.status_code == 200 and harz.name in page.text
        if "meetings" not in stack.processes:
            assert "nicht verfügbar" in page.text
        printable = await halberstadt.get("/zahlen/druck")
        assert printable.status_code == 200 and "print-view" in printable.text
        english = await halberstadt.get("/sprache/en", params={"next": "/zahlen"}, follow_redirects=True)
        assert "Facts and figures" in english.text and "Participating municipalities" in english.text

    async def test_a_service_away_reads_not_available_and_the_rest_is_shown(self, stack: Stack) -> None:
        ministry = await stack.login()
        await stack.stop_service("needs")
        board = (await ministry.get("/api/v1/dashboard")).json()
        assert board["needs"] is None and board["pilots_running"] is None and "needs" in board["unavailable"]
        assert board["ressorts"] == 9 and board["participation"]["participating"] == len(demo_organisations())
        page = await ministry.get("/zahlen")
        assert page.status_code == 200
        assert 'data-testid="needs-total">nicht verfügbar' in page.text

    async def test_meetings_held_are_counted_from_the_meetings_service(self, stack: Stack) -> None:
        """Held = ended and not cancelled; AG meetings are those with an AG (docs/dashboard.md)."""
        ministry = await stack.login()
        year = datetime.now(UTC).year - 1
        thursdays = [
            d
            for d in (datetime(year, 1, day, tzinfo=UTC).date() for day in range(1, 32))
            if d.weekday() == calendar.THURSDAY
        ]
        first = thursdays[1]  # the second Thursday of January last year

        def meeting(**fields: Any) -> dict[str, Any]:
            return {
                "title": "AG Technik",
                "agenda": "Stand der Themen",
                "duration_minutes": 60,
                "online_url": "https://konferenz.gdst.example/technik",
                **fields,
            }

        series = await ministry.post(
            "/api/v1/meetings",
            json=meeting(
                start=f"{first.isoformat()}T14:00",
                rrule="FREQ=MONTHLY;BYDAY=2TH;COUNT=3",
                group_id="ag-technik",
            ),
        )
        assert series.status_code == 201, series.text
        february = [
            d
            for d in (datetime(year, 2, day, tzinfo=UTC).date() for day in range(1, 29))
            if d.weekday() == calendar.THURSDAY
        ][1]
        cancelled = await ministry.post(
            f"/api/v1/meetings/{series.json()['id']}/occurrences/{february:%Y%m%d}T1400/cancel",
            json={"reason": "Ferien"},
        )
        assert cancelled.status_code == 200, cancelled.text
        network = await ministry.post(
            "/api/v1/meetings",
            json=meeting(title="Netzwerktreffen", start=f"{year}-06-10T10:00", location="Magdeburg, Landtag"),
        )
        assert network.status_code == 201, network.text
        coming = await ministry.post(
            "/api/v1/meetings",
            json=meeting(
                title="Digitales Frühstück",
                start=(datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT09:00"),
            ),
        )
        assert coming.status_code == 201, coming.text

        board = (await ministry.get("/api/v1/dashboard")).json()
        # January and March of the AG series (February cancelled) plus the network meeting
        assert (board["meetings_held"], board["ag_meetings_held"], board["unavailable"]) == (3, 2, [])
