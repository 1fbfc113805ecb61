"""Nothing lost, nothing twice: NATS restarts and redelivered events."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from services.contracts import directory as c
from services.contracts.envelope import Event, Principal
from services.runtime.events import encode_event, outbox_entry
from services.surveys.polls.repository import ballot_id
from tests.conftest import Stack
from tests.e2e.conftest_polls import open_poll
from tests.support.servers import Process

pytestmark = pytest.mark.faults

MINISTRY = Principal(person_id="demo-ministerium", organisation_id="15", roles=("ministry",))


async def settle(stack: Stack, address: str, expected: int, quiet: float = 2.0) -> int:
    """Wait for the expected mails, then a little longer to catch any duplicate."""
    await stack.mailbox.wait_for(address, expected, timeout=30)
    await asyncio.sleep(quiet)
    return len(stack.mailbox.to(address))


class TestNatsOutage:
    async def test_invitation_written_while_nats_is_down_is_mailed_once_after(
        self, stack: Stack, nats_server: Process
    ) -> None:
        directory = stack.processes["directory"].parts["service"]
        nats_server.stop()
        try:
            invitation = await directory.invite(
                MINISTRY,
                c.CreateInvitation(
                    email="ausfall@halle.example",
                    name="Anna Ausfall",
                    organisation_id="15002",
                    roles=["member"],
                ),
            )
            await asyncio.sleep(1.0)
            relay = stack.processes["directory"].relay
            assert relay is not None
            waiting = await relay.pending()
            assert [e["type"] for e in waiting] == ["person.invited"], (
                "the event waits in the outbox while NATS is away"
            )
            assert stack.mailbox.to("ausfall@halle.example") == []
        finally:
            nats_server.start()
        assert invitation.email == "ausfall@halle.example"
        assert await settle(stack, "ausfall@halle.example", 1) == 1
        assert await relay.pending() == [], "published once NATS was back"

    async def test_nats_restart_around_api_invitations_gives_one_mail_each(
        self, stack: Stack, nats_server: Process
    ) -> None:
        ministry = await stack.login()
        addresses = [f"neustart-{i}@stendal.example" for i in range(5)]
        for address in addresses:
            response = await ministry.post(
                "/api/v1/invitations",
                json={"email": address, "name": "Neu", "organisation_id": "15090535", "roles": ["member"]},
            )
            assert response.status_code == 201
        # cut NATS right after the last acceptance: some events may still be in flight
        nats_server.kill()
        await asyncio.sleep(2.0)
        nats_server.start()
        for address in addresses:
            assert await settle(stack, address, 1, quiet=0.2) == 1
        await asyncio.sleep(2.0)
        assert [len(stack.mailbox.to(a)) for a in addresses] == [1] * 5

    async def test_request_during_outage_is_503_then_works(self, stack: Stack, nats_server: Process) -> None:
        async with stack.client() as client:
            nats_server.stop()
            try:
                response = await client.post("/api/v1/session", json={"email": "a@b.de", "password": "x"})
                assert response.status_code == 503
                assert (await client.get("/readyz")).status_code == 503
            finally:
                nats_server.start()
            for _ in range(100):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await client.get("/readyz")).status_code == 200

    async def test_live_count_reads_the_ballots_again_after_nats_was_away(
        self, stack: Stack, nats_server: Process
    ) -> None:
        """A ballot another instance stored while NATS was away comes with no event to this
        one: its live count reads the poll's ballots again after the reconnect, not only at the
        next full read a minute later."""
        ministry = await stack.login()
        poll = await open_poll(
            ministry,
            title="Ausfall: wer zählt mit?",
            options=[{"label": "Ja"}, {"label": "Nein"}],
            method={"kind": "single"},
        )
        polls = stack.processes["surveys"].parts["polls"]
        repository = stack.processes["surveys"].parts["polls_repository"]
        assert (await polls.live_results(poll["id"])).ballots == 0
        now = datetime.now(UTC)
        # stored by another instance whose ballot.cast never reached this one
        await repository.ballots.insert_one(
            {
                "_id": ballot_id(poll["id"], "person-elsewhere"),
                "poll_id": poll["id"],
                "voter": "person-elsewhere",
                "cast_by": "person-elsewhere",
                "cast_at": now,
                "first_cast_at": now,
                "choice": poll["options"][0]["id"],
                "outbox": [],
            }
        )
        assert (await polls.live_results(poll["id"])).ballots == 0, "counted from the ballots held"
        nats_server.stop()
        await asyncio.sleep(0.5)
        nats_server.start()
        counted = 0
        for _ in range(100):
            # the first count after the reconnect starts the read, a later one shows it
            counted = (await polls.live_results(poll["id"])).ballots
            if counted == 1:
                break
            await asyncio.sleep(0.2)
        assert counted == 1, "the ballot stored elsewhere is counted live after NATS was back"


class TestRedelivery:
    def _event(self, email: str) -> tuple[str, bytes]:
        entry = outbox_entry(
            c.EVENT_PERSON_INVITED,
            c.PersonInvited(
                person_id="p1",
                invitation_id="i1",
                email=email,
                name="Doppelt",
                organisation_id="15003",
                organisation_name="Magdeburg, Landeshauptstadt",
                invited_by=None,
                token="t" * 20,
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )
        return entry["id"], encode_event(entry, "/gdst/directory")

    async def test_same_event_published_twice_sends_one_mail(self, stack: Stack) -> None:
        event_id, body = self._event("doppelt@gdst.example")
        js = stack.processes["directory"].js
        subject = stack.settings.names.event_subject(c.EVENT_PERSON_INVITED)
        # distinct message ids defeat JetStream's duplicate window: the consumer must cope
        await js.publish(subject, body, headers={"Nats-Msg-Id": f"{event_id}-a"})
        await js.publish(subject, body, headers={"Nats-Msg-Id": f"{event_id}-b"})
        assert await settle(stack, "doppelt@gdst.example", 1) == 1

    async def test_handler_run_twice_for_one_event_sends_one_mail(self, stack: Stack) -> None:
        # as after a crash between sending and acknowledging: the delivery record decides
        _, body = self._event("zweimal@gdst.example")
        event = msgspec.json.decode(body, type=Event)
        handler = stack.processes["notifications"].parts["invitations"]
        await handler(event)
        await handler(event)
        assert await settle(stack, "zweimal@gdst.example", 1, quiet=0.5) == 1

    async def test_undecodable_event_is_terminated_not_retried(self, stack: Stack) -> None:
        js = stack.processes["directory"].js
        subject = stack.settings.names.event_subject(c.EVENT_PERSON_INVITED)
        await js.publish(subject, b"\xff not json", headers={"Nats-Msg-Id": uuid.uuid4().hex})
        # a good event behind it still gets through
        _, body = self._event("danach@gdst.example")
        await js.publish(subject, body, headers={"Nats-Msg-Id": uuid.uuid4().hex})
        assert await settle(stack, "danach@gdst.example", 1, quiet=0.5) == 1
