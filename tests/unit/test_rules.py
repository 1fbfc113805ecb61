from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from gateway import i18n
from gateway.web.pages import safe_next
from services.contracts import directory as c
from services.contracts.envelope import Event
from services.contracts.names import Names
from services.notifications import mails
from services.runtime.consumer import backoff
from services.runtime.events import encode_event, outbox_entry


class TestNames:
    def test_everything_carries_the_namespace(self) -> None:
        n = Names("t1")
        assert n.rpc("directory", "me") == "t1.rpc.directory.me"
        assert n.event_subject("person.invited") == "t1.events.person.invited"
        assert n.event_stream == "T1_EVENTS" and n.database("needs") == "t1_needs"

    @pytest.mark.parametrize("bad", ["", "Gross", "with space", "a.b", "x" * 40])
    def test_rejects_unsafe_namespaces(self, bad: str) -> None:
        with pytest.raises(ValueError):
            Names(bad)


class TestEvents:
    def test_outbox_entry_encodes_as_cloudevent(self) -> None:
        entry = outbox_entry("group.member_added", c.GroupMemberAdded(group_id="ag-technik", person_id="p"))
        event = msgspec.json.decode(encode_event(entry, "/gdst/directory"), type=Event)
        assert (event.specversion, event.type, event.source, event.id) == (
            "1.0",
            "group.member_added",
            "/gdst/directory",
            entry["id"],
        )
        data = msgspec.json.decode(event.data, type=c.GroupMemberAdded)
        assert data.group_id == "ag-technik"

    def test_backoff_grows_and_is_capped(self) -> None:
        assert [backoff(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
        assert backoff(50) == 60.0


class TestInvitationMail:
    def test_has_text_and_html_and_stable_id(self) -> None:
        data = c.PersonInvited(
            person_id="p",
            invitation_id="i",
            email="a@b.de",
            name="Anna <script>",
            organisation_id="15003",
            organisation_name="Magdeburg",
            invited_by=None,
            token="tok_123456789",
            expires_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC) + timedelta(days=0),
        )
        msg = mails.invitation("e1", data, public_url="https://gdst.example", sender="GDST <no@gdst.example>")
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "https://gdst.example/einladung/tok_123456789" in text and "01.12.2026, 13:00 Uhr" in text
        assert "Anna &lt;script&gt;" in html and "<script>" not in html
        assert msg["Message-ID"] == mails.message_id("e1", "a@b.de")


class TestEdgeRules:
    @pytest.mark.parametrize(
        ("target", "expected"),
        [
            ("/umfragen", "/umfragen"),
            ("//evil.example", "/"),
            ("https://evil.example/", "/"),
            (None, "/"),
            ("", "/"),
        ],
    )
    def test_redirects_stay_on_site(self, target: str | None, expected: str) -> None:
        assert safe_next(target) == expected

    def test_language_choice(self) -> None:
        assert i18n.choose(None, "en-GB,en;q=0.9") == "en"
        assert i18n.choose("de", "en") == "de"
        assert i18n.choose("xx", "fr") == "de"
