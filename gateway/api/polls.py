"""AG topics and polls: propose topics, open polls, cast ballots, follow and export results."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
import nats.errors
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gateway.auth import api_principal, gateway_of
from gateway.clients.polls import PollsClient
from gateway.state import Gateway
from services.contracts import polls as c
from services.contracts.envelope import Principal

log = logging.getLogger(__name__)

IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# a stream ends after this long (the browser's EventSource reconnects by itself), so no
# connection outlives a deployment for long
STREAM_SECONDS = 120.0
KEEPALIVE_SECONDS = 15.0

_encoder = msgspec.json.Encoder()
_results_decoder = msgspec.json.Decoder(c.PollResults)


def _polls(request: Request[Any, Any, Any]) -> PollsClient:
    return PollsClient(gateway_of(request).rpc)


class TopicInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: c.Title
    description: c.Description = ""


class TopicStatusInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: c.TopicStatus
    reason: c.Reason = ""


class TopicController(Controller):
    path = "/api/v1"
    tags = ["AG-Themen"]
    dependencies = {"principal": Provide(api_principal)}

    @post(
        "/groups/{group_id:str}/topics",
        status_code=201,
        summary="Thema für eine AG vorschlagen (Mitglieder der AG, Ministerium, Lotsen)",
    )
    async def propose(
        self, request: Request[Any, Any, Any], principal: Principal, group_id: IdParam, data: TopicInput
    ) -> c.Topic:
        req = c.CreateTopic(group_id=group_id, title=data.title, description=data.description)
        return await _polls(request).propose_topic(principal, req)

    @get("/groups/{group_id:str}/topics", summary="Themen einer AG, wahlweise nach Stand gefiltert")
    async def list_topics(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        group_id: IdParam,
        status: c.TopicStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    ) -> c.TopicPage:
        req = c.ListTopics(group_id=group_id, status=status, limit=limit, cursor=cursor)
        return await _polls(request).topics(principal, req)

    @get("/topics/{topic_id:str}", summary="Ein Thema mit seinem Verlauf und den Abstimmungen dazu")
    async def get_topic(
        self, request: Request[Any, Any, Any], principal: Principal, topic_id: IdParam
    ) -> c.Topic:
        return await _polls(request).topic(principal, topic_id)

    @patch(
        "/topics/{topic_id:str}",
        summary="Stand eines Themas ändern (Ministerium/Lotse)",
        description="proposed → selected → in_work → done, oder dropped; 409 bei unmöglichem Wechsel.",
    )
    async def change_status(
        self, request: Request[Any, Any, Any], principal: Principal, topic_id: IdParam, data: TopicStatusInput
    ) -> c.Topic:
        req = c.ChangeTopicStatus(id=topic_id, status=data.status, reason=data.reason)
        return await _polls(request).change_topic_status(principal, req)


def ballots_csv(export: c.BallotExport) -> str:
    """One row per ballot, pseudonymised; columns depend on the method (docs/voting.md)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    option_ids = [o.id for o in export.options]
    if export.method in ("dot", "score"):
        writer.writerow(["ballot", *option_ids])
        for b in export.ballots:
            values = (b.points if export.method == "dot" else b.scores) or []
            writer.writerow([b.pseudonym, *values])
    elif export.method == "single":
        writer.writerow(["ballot", "choice"])
        for b in export.ballots:
            writer.writerow([b.pseudonym, b.choice])
    elif export.method == "approval":
        writer.writerow(["ballot", "choices"])
        for b in export.ballots:
            writer.writerow([b.pseudonym, " ".join(b.choices or [])])
    else:
        writer.writerow(["ballot", "ranking"])
        for b in export.ballots:
            writer.writerow([b.pseudonym, ">".join(b.ranking or [])])
    return out.getvalue()


async def _next_or_stop(subscription: Subscription, stopping: asyncio.Event, timeout: float) -> Msg | None:
    """The next message (TimeoutError after `timeout`), or None once the gateway is stopping."""
    if stopping.is_set():
        return None
    getter = asyncio.ensure_future(subscription.next_msg(timeout=timeout))
    stopper = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not getter.done():
            getter.cancel()
    if not getter.done() or getter.cancelled():
        return None
    msg: Msg = getter.result()
    return msg


async def result_events(
    gw: Gateway, principal: Principal, poll_id: str, *, seconds: float = STREAM_SECONDS
) -> AsyncIterator[ServerSentEventMessage]:
    """The current result, then every change the surveys service announces, until the poll's
    final result was sent or the stream's time is up."""
    client = PollsClient(gw.rpc)
    subscription = await gw.conn.nc.subscribe(c.results_subject(gw.settings.names, poll_id))
    try:
        # subscribed first, so no change between the first count and the stream is missed
        current = await client.results(principal, poll_id)
        yield ServerSentEventMessage(data=_encoder.encode(current).decode(), event="result")
        if current.final:
            return
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await _next_or_stop(subscription, gw.stopping, min(KEEPALIVE_SECONDS, left))
            except (TimeoutError, nats.errors.TimeoutError):
                yield ServerSentEventMessage(comment="keepalive")
                continue
            if msg is None:  # the gateway is stopping; the client reconnects elsewhere
                return
            try:
                result = _results_decoder.decode(msg.data)
            except (msgspec.ValidationError, msgspec.DecodeError):
                log.warning("undecodable result notice for %s", poll_id)
                continue
            yield ServerSentEventMessage(data=msg.data.decode(), event="result")
            if result.final:
                return
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()


class PollController(Controller):
    path = "/api/v1/polls"
    tags = ["Abstimmungen"]
    dependencies = {"principal": Provide(api_principal)}

    @post(
        "/",
        status_code=201,
        summary="Abstimmung starten (Ministerium/Lotse)",
        description="Optionen frei (`label`) oder aus den vorgeschlagenen Themen der AG (`topic_id`); "
        "Methoden single, approval, dot, score, borda, schulze (docs/voting.md).",
    )
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.CreatePoll
    ) -> c.Poll:
        return await _polls(request).create_poll(principal, data)

    @get("/", summary="Abstimmungen, neueste zuerst, wahlweise nach Stand und AG gefiltert")
    async def list_polls(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        state_: Annotated[c.PollState | None, Parameter(query="state")] = None,
        group_id: Annotated[str | None, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    ) -> c.PollPage:
        req = c.ListPolls(state=state_, group_id=group_id, limit=limit, cursor=cursor)
        return await _polls(request).polls(principal, req)

    @get("/{poll_id:str}", summary="Eine Abstimmung mit Optionen, Methode, Gleichstandsregel")
    async def get_poll(
        self, request: Request[Any, Any, Any], principal: Principal, poll_id: IdParam
    ) -> c.Poll:
        return await _polls(request).poll(principal, poll_id)

    @put(
        "/{poll_id:str}/ballot",
        status_code=200,
        summary="Stimme abgeben oder ersetzen",
        description="Je nach Methode `choice`, `choices`, `points`, `scores` oder `ranking`. "
        "422 bei falscher Form oder überschrittenem Budget, 403 ohne Stimmrecht, 409 nach dem Ende.",
    )
    async def cast(
        self, request: Request[Any, Any, Any], principal: Principal, poll_id: IdParam, data: c.BallotInput
    ) -> c.Ballot:
        return await _polls(request).cast(principal, poll_id, data)

    @get("/{poll_id:str}/ballot", summary="Die eigene Stimme (bzw. die der eigenen Kommune)")
    async def my_ballot(
        self, request: Request[Any, Any, Any], principal: Principal, poll_id: IdParam
    ) -> c.Ballot:
        return await _polls(request).my_ballot(principal, poll_id)

    @get(
        "/{poll_id:str}/results",
        summary="Ergebnis (live oder erst nach dem Ende, je nach Abstimmung)",
        description="Rangfolge, Gewinner, Gleichstände und Beteiligung; bei schulze auch die "
        "paarweisen Vergleiche und die stärksten Pfade.",
    )
    async def results(
        self, request: Request[Any, Any, Any], principal: Principal, poll_id: IdParam
    ) -> c.PollResults:
        return await _polls(request).results(principal, poll_id)

    @get(
        "/{poll_id:str}/results/stream",
        summary="Ergebnis als Server-Sent Events (Ereignis `result` bei jeder Änderung)",
        media_type="text/event-stream",
    )
    async def stream(
        self, request: Request[Any, Any, Any], principal: Principal, poll_id: IdParam
    ) -> ServerSentEvent:
        gw = gateway_of(request)
        # an unknown poll or a missing service is answered as a problem before the stream starts
        await PollsClient(gw.rpc).poll(principal, poll_id)
        return ServerSentEvent(
            result_events(gw, principal, poll_id),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            retry_duration=3000,
        )

    @post(
        "/{poll_id:str}/close",
        status_code=200,
        summary="Abstimmung beenden; gewählte Themen werden ausgewählt",
    )
    async def close(
        self, request: Request[Any, Any, Any], principal: Principal, poll_id: IdParam
    ) -> c.PollResults:
        return await _polls(request).close(principal, poll_id)

    @get(
        "/{poll_id:str}/ballots.csv",
        summary="Alle Stimmzettel pseudonymisiert als CSV, zum Nachzählen",
        media_type="text/csv",
    )
    async def export(
        self, request: Request[Any, Any, Any], principal: Principal, poll_id: IdParam
    ) -> Response[str]:
        export = await _polls(request).export(principal, poll_id)
        return Response(
            ballots_csv(export),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="abstimmung-{poll_id}.csv"'},
        )
