"""The poll and topic pages without JavaScript: forms post, errors are shown, results render."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Stack
from tests.e2e.conftest_polls import DESSAU, HALLE, MAGDEBURG, TECHNIK, open_poll, propose, results


def csrf(client: httpx.AsyncClient) -> str:
    return str(client.headers["X-CSRF-Token"])


def form(client: httpx.AsyncClient, **fields: str | list[str]) -> dict[str, str | list[str]]:
    return {"csrf_token": csrf(client), **fields}


class TestPollPages:
    async def test_vote_with_points_through_the_form(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "dot", "max_per_option": 2})
        a, b, c = (o["id"] for o in poll["options"])
        member = await stack.login(HALLE)
        page = await member.get(f"/abstimmungen/{poll['id']}")
        assert page.status_code == 200 and "Verteilen Sie Ihre Punkte" in page.text
        assert f'id="dot-{a}"' in page.text and 'src="/static/polls.js"' in page.text
        assert "<script>" not in page.text, "no inline script (CSP)"

        over = await member.post(
            f"/abstimmungen/{poll['id']}/stimme", data=form(member, **{f"dot-{a}": "2", f"dot-{b}": "1"})
        )
        assert over.status_code == 422 and "erlaubt sind 2" in over.text and 'role="alert"' in over.text
        assert 'value="1"' in over.text, "the submitted points are kept"
        cap = await member.post(f"/abstimmungen/{poll['id']}/stimme", data=form(member, **{f"dot-{c}": "x"}))
        assert cap.status_code == 422 and f'href="#dot-{c}"' in cap.text

        saved = await member.post(
            f"/abstimmungen/{poll['id']}/stimme", data=form(member, **{f"dot-{a}": "1", f"dot-{b}": "1"})
        )
        assert saved.status_code == 303 or saved.status_code == 302 or saved.status_code == 201
        again = await member.get(f"/abstimmungen/{poll['id']}?hinweis=gespeichert")
        assert "Ihre Stimme ist gespeichert" in again.text and "Stimme ändern" in again.text
        assert (await results(member, poll["id"]))["ballots"] == 1

        result = await member.get(f"/abstimmungen/{poll['id']}/ergebnis")
        assert result.status_code == 200 and 'data-testid="result-table"' in result.text
        assert (
            "Zwischenergebnis (live)" in result.text
            and f"/api/v1/polls/{poll['id']}/results/stream" in result.text
        )
        projector = await member.get(f"/abstimmungen/{poll['id']}/projektor")
        assert projector.status_code == 200 and "poll-result--large" in projector.text

        listing = await member.get("/abstimmungen")
        assert poll["title"] in listing.text and "abgestimmt" in listing.text

    async def test_ballot_errors_in_english(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "dot"})
        a, b, _c = (o["id"] for o in poll["options"])
        member = await stack.login(HALLE)
        member.cookies.set("gdst_lang", "en")
        over = await member.post(
            f"/abstimmungen/{poll['id']}/stimme", data=form(member, **{f"dot-{a}": "2", f"dot-{b}": "1"})
        )
        assert over.status_code == 422 and "You have given 3 points; 2 are allowed." in over.text
        assert "Distribute your points" in over.text and "Most points win." in over.text

    async def test_ranking_form_refuses_a_place_given_twice(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "schulze"})
        a, b, c = (o["id"] for o in poll["options"])
        member = await stack.login(MAGDEBURG)
        twice = await member.post(
            f"/abstimmungen/{poll['id']}/stimme", data=form(member, **{f"rank-{a}": "1", f"rank-{b}": "1"})
        )
        assert twice.status_code == 422 and f'href="#rank-{b}"' in twice.text
        ok = await member.post(
            f"/abstimmungen/{poll['id']}/stimme", data=form(member, **{f"rank-{c}": "1", f"rank-{a}": "2"})
        )
        assert ok.status_code in (302, 303)
        mine = (await member.get(f"/api/v1/polls/{poll['id']}/ballot")).json()
        assert mine["ballot"] == {"ranking": [c, a]}
        result = await member.get(f"/abstimmungen/{poll['id']}/ergebnis")
        assert "Stärkste Pfade" in result.text and "Paarweise Vergleiche" in result.text

    async def test_not_eligible_and_closing_from_the_page(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, group_id=TECHNIK, method={"kind": "single"})
        outsider = await stack.login(DESSAU)
        page = await outsider.get(f"/abstimmungen/{poll['id']}")
        assert (
            'data-testid="not-eligible"' in page.text
            and '<form method="post" action="/abstimmungen' not in page.text
        )
        closed = await ministry.post(f"/abstimmungen/{poll['id']}/beenden", data=form(ministry))
        assert closed.status_code in (302, 303)
        final = await outsider.get(f"/abstimmungen/{poll['id']}/ergebnis")
        assert "Endergebnis" in final.text

    async def test_open_a_poll_through_the_form(self, stack: Stack) -> None:
        member = await stack.login(MAGDEBURG)
        topic = await propose(member, "Offene Daten")
        ministry = await stack.login()
        page = await ministry.get(f"/abstimmungen/neu?ag={TECHNIK}")
        assert page.status_code == 200 and "Offene Daten" in page.text
        closes = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        missing = await ministry.post("/abstimmungen/neu", data=form(ministry, title="", closes_at=""))
        assert (
            missing.status_code == 422
            and 'href="#title"' in missing.text
            and 'href="#closes_at"' in missing.text
        )
        tampered = await ministry.post(
            "/abstimmungen/neu",
            data=form(ministry, title="T", labels="A\nB", kind="los", closes_at=closes, winners="1"),
        )
        assert tampered.status_code == 422 and 'href="#kind"' in tampered.text
        created = await ministry.post(
            "/abstimmungen/neu",
            data=form(
                ministry,
                title="Themenwahl",
                group_id=TECHNIK,
                topic_ids=[topic["id"]],
                labels="Freies Thema",
                kind="dot",
                voters="person",
                results_visibility="live",
                winners="1",
                closes_at=closes,
                cumulative="1",
            ),
        )
        assert created.status_code in (302, 303), created.text
        poll_id = re.search(r"/abstimmungen/([A-Za-z0-9]+)", created.headers["location"]).group(1)  # type: ignore[union-attr]
        poll = (await ministry.get(f"/api/v1/polls/{poll_id}")).json()
        assert [o["label"] for o in poll["options"]] == ["Offene Daten", "Freies Thema"]
        assert poll["group_id"] == TECHNIK and poll["method"]["points"] == 2
        member_page = await member.get("/abstimmungen/neu")
        assert "Abstimmungen starten Ministerium und Digital-Lotsen" in member_page.text


class TestTopicPages:
    async def test_propose_and_follow_a_topic(self, stack: Stack) -> None:
        member = await stack.login(MAGDEBURG)
        page = await member.get(f"/ags/{TECHNIK}/themen")
        assert page.status_code == 200 and "Thema vorschlagen" in page.text
        empty = await member.post(f"/ags/{TECHNIK}/themen", data=form(member, title=""))
        assert empty.status_code == 422 and 'href="#title"' in empty.text
        done = await member.post(f"/ags/{TECHNIK}/themen", data=form(member, title="KI im Bürgeramt"))
        assert done.status_code in (302, 303)
        listing = await member.get(f"/ags/{TECHNIK}/themen?hinweis=vorgeschlagen")
        match = re.search(r'href="/themen/([A-Za-z0-9]+)">KI im Bürgeramt', listing.text)
        assert match
        topic_page = await member.get(f"/themen/{match.group(1)}")
        assert "Vorgeschlagen" in topic_page.text and "Stand ändern" not in topic_page.text
        ministry = await stack.login()
        changed = await ministry.post(
            f"/themen/{match.group(1)}/stand", data=form(ministry, status="dropped", reason="doppelt")
        )
        assert changed.status_code in (302, 303)
        after = await ministry.get(f"/themen/{match.group(1)}")
        assert "Verworfen" in after.text and "doppelt" in after.text
        outsider = await stack.login(DESSAU)
        assert "Thema vorschlagen" not in (await outsider.get(f"/ags/{TECHNIK}/themen")).text
