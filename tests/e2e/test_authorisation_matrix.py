"""Authorisation matrix: every `/api/v1` route × role × object owner, with the exact outcome.

One row per route (a route may have more rows for objects in different states). A row says
how to build the request for an owner ("A" or "B", or none when the object belongs to nobody
in particular) and which status each role gets. Denied writes are checked to have changed
nothing: the row's probe (what an administrator reads about the object) is the same before and
after. A route the app registers without a row fails the coverage test, so a new endpoint
cannot slip past the matrix.

Roles: anonymous, a member of Kommune A (Magdeburg), a member of Kommune B (Halle), a
Digital-Lotse (Landkreis Harz), the ministry and an administrator (both of the Land).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from services.contracts import directory as dc
from services.contracts.envelope import Principal
from services.runtime import mongo
from services.runtime.settings import Settings
from tests.conftest import DEMO_PASSWORD, MINISTRY, Stack
from tests.support.figures import Recorder

pytestmark = pytest.mark.hardening

A, B = "15003", "15002"  # Magdeburg, Halle
KOMMUNE = {"A": A, "B": B}
# AGs with exactly one of the two Kommunen (services/directory/seed.py)
GROUP = {"A": "ag-strategie", "B": "ag-umsetzung"}
ROLES = ("anon", "a", "b", "lotse", "ministry", "admin")
LOTSE_EMAIL = "lotse@harz.example"
ADMIN_EMAIL = "admin@gdst.example"
STAFF_PASSWORD = "matrix-passwort-123"


@dataclass(frozen=True)
class Own:
    """A member's outcome depends on whether the object belongs to their Kommune."""

    yes: int
    no: int


Expect = Mapping[str, int | Own]
Owner = str | None
PathFn = Callable[["World", Owner], Awaitable[str]]
BodyFn = Callable[["World", Owner], Any]
ProbeFn = Callable[["World", Owner, str], Awaitable[Any]]


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def expect(
    anon: int = 401,
    a: int | Own = 403,
    b: int | Own | None = None,
    lotse: int = 403,
    ministry: int = 403,
    admin: int | None = None,
) -> dict[str, int | Own]:
    """Member B gets what member A gets and the admin what the ministry gets unless told."""
    return {
        "anon": anon,
        "a": a,
        "b": a if b is None else b,
        "lotse": lotse,
        "ministry": ministry,
        "admin": ministry if admin is None else admin,
    }


def everyone(status: int, anon: int = 401) -> dict[str, int | Own]:
    return expect(anon=anon, a=status, lotse=status, ministry=status)


MINISTRY_ONLY = expect(ministry=200)


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # exactly as the app registers it
    expect: Expect
    path: PathFn
    body: BodyFn | None = None
    owned: bool = False
    # what an administrator reads about the object, compared before and after a denied write
    probe: ProbeFn | None = None
    fresh_login: bool = False  # the request ends the session (logout)
    throwaway: bool = False  # the request deletes the caller: a new person of the role each time
    stream: bool = False
    note: str = ""


def static(path: str) -> PathFn:
    async def build(world: World, owner: Owner) -> str:
        return path

    return build


def survey_definition(audience: list[str], title: str = "Matrixumfrage") -> dict[str, Any]:
    return {
        "title": title,
        "description": "Eine Antwort je Kommune.",
        "questions": [
            {
                "id": "q1",
                "kind": "single",
                "label": "Ja oder nein?",
                "options": ["Ja", "Nein"],
                "required": False,
            }
        ],
        "audience": {"kind": "organisations", "ids": audience},
        "respond_as": "organisation",
        "closes_at": later(days=14),
    }


@dataclass
class World:
    stack: Stack
    clients: dict[str, httpx.AsyncClient]
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def ministry(self) -> httpx.AsyncClient:
        return self.clients["ministry"]

    @property
    def admin(self) -> httpx.AsyncClient:
        return self.clients["admin"]

    def member(self, owner: Owner) -> httpx.AsyncClient:
        return self.clients["a" if owner == "A" else "b"]

    async def ok(self, response: Awaitable[httpx.Response]) -> Any:
        r = await response
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    async def once(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self.cache:
            self.cache[key] = await make()
        return self.cache[key]

    # objects -----------------------------------------------------------------------------

    async def need(self, owner: Owner, fresh: bool = False) -> str:
        async def make() -> str:
            body = {
                "title": f"Matrixbedarf {owner} {uuid.uuid4().hex[:6]}",
                "description": "Ein Bedarf für die Rechteprüfung.",
                "category": "querschnitt",
            }
            need = await self.ok(self.member(owner).post("/api/v1/needs", json=body))
            return str(need["id"])

        return await make() if fresh else await self.once(f"need-{owner}", make)

    async def pilot(self, fresh: bool = False) -> str:
        async def make() -> str:
            need_id = await self.need("A")
            body = {
                "title": "Matrixpilot",
                "description": "Ein Pilot für die Rechteprüfung.",
                "need_ids": [need_id],
                "capacity": 5,
                "signup_closes_at": later(days=7),
            }
            pilot_id = str((await self.ok(self.ministry.post("/api/v1/pilots", json=body)))["id"])
            if fresh:  # something to select
                signup = {"contact_name": "Karla Kontakt", "contact_email": "karla@kommune.example"}
                await self.ok(self.member("A").put(f"/api/v1/pilots/{pilot_id}/signup", json=signup))
            return pilot_id

        return await make() if fresh else await self.once("pilot", make)

    async def survey(self, owner: Owner, fresh: bool = False, state: str = "open") -> str:
        """A survey addressed to the owner's Kommune only (a draft when state is "draft")."""

        async def make() -> str:
            audience = [KOMMUNE[owner or "A"]]
            created = await self.ok(self.ministry.post("/api/v1/surveys", json=survey_definition(audience)))
            survey_id = str(created["id"])
            if state != "draft":
                await self.ok(self.ministry.post(f"/api/v1/surveys/{survey_id}/publish"))
            if state in ("submitted", "closed"):
                await self.ok(self.member(owner).post(f"/api/v1/surveys/{survey_id}/response/submit"))
            if state == "closed":
                await self.ok(self.ministry.post(f"/api/v1/surveys/{survey_id}/close"))
            return survey_id

        return await make() if fresh else await self.once(f"survey-{owner}-{state}", make)

    async def topic(self, fresh: bool = False) -> str:
        async def make() -> str:
            body = {"title": "Matrixthema", "description": "Ein Thema."}
            topic = await self.ok(self.ministry.post(f"/api/v1/groups/{GROUP['A']}/topics", json=body))
            return str(topic["id"])

        return await make() if fresh else str(await self.once("topic", make))

    async def poll(self, owner: Owner, fresh: bool = False, visibility: str = "live") -> str:
        """A single-choice vote among the members of the owner's AG."""

        async def make() -> str:
            body = {
                "title": "Matrixabstimmung",
                "options": [{"label": "Eins"}, {"label": "Zwei"}, {"label": "Drei"}],
                "method": {"kind": "single"},
                "voters": "person",
                "results_visibility": visibility,
                "closes_at": later(hours=2),
                "group_id": GROUP[owner or "A"],
            }
            return str((await self.ok(self.ministry.post("/api/v1/polls", json=body)))["id"])

        return await make() if fresh else await self.once(f"poll-{owner}-{visibility}", make)

    async def option(self, poll_id: str) -> str:
        poll = await self.ok(self.admin.get(f"/api/v1/polls/{poll_id}"))
        return str(poll["options"][0]["id"])

    async def webhook(self, fresh: bool = False) -> str:
        async def make() -> str:
            body = {"url": "http://127.0.0.1:9/matrix", "event_types": ["survey.published"]}
            return str((await self.ok(self.ministry.post("/api/v1/webhooks", json=body)))["id"])

        return await make() if fresh else await self.once("webhook", make)

    async def token(self, owner: Owner) -> str:
        created = await self.ok(self.member(owner).post("/api/v1/tokens", json={"name": "Matrix"}))
        return str(created["id"])

    async def inbox_entry(self, owner: Owner) -> str:
        async def make() -> str:
            await self.survey(owner)  # publishing tells the addressed Kommune's members
            for _ in range(150):
                page = await self.ok(self.member(owner).get("/api/v1/notifications"))
                if page["items"]:
                    return str(page["items"][0]["id"])
                await asyncio.sleep(0.2)
            raise AssertionError(f"no inbox entry for {owner}")

        return str(await self.once(f"entry-{owner}", make))

    async def meeting(self, owner: Owner, fresh: bool = False) -> str:
        """A weekly meeting of the owner's AG, four dates from next month on."""

        async def make() -> str:
            body = {
                "title": "Matrixtermin",
                "start": MEETING_START,
                "duration_minutes": 60,
                "rrule": "FREQ=WEEKLY;COUNT=4",
                "group_id": GROUP[owner or "A"],
                "capacity": 20,
                "location": "Magdeburg, Ministerium, Raum 1",
            }
            return str((await self.ok(self.ministry.post("/api/v1/meetings", json=body)))["id"])

        return await make() if fresh else await self.once(f"meeting-{owner}", make)

    async def feed_token(self, owner: Owner) -> str:
        async def make() -> str:
            return str((await self.ok(self.member(owner).get("/api/v1/meetings/feed")))["token"])

        return str(await self.once(f"feed-{owner}", make))

    async def spotlight(self, fresh: bool = False) -> str:
        """A draft Spotlight of AG A's topic, addressed to the digital ministry."""

        async def make() -> str:
            body = {**SPOTLIGHT_BODY, "topic_id": await self.topic()}
            return str((await self.ok(self.ministry.post("/api/v1/spotlights", json=body)))["id"])

        return await make() if fresh else str(await self.once("spotlight", make))

    async def throwaway_person(self, owner: Owner, role: str = "member") -> tuple[str, str]:
        """A new person (email, id) to delete: member of the owner's Kommune, or of the role."""
        email = f"wegwerf-{uuid.uuid4().hex[:8]}@matrix.example"
        org = {"member": KOMMUNE[owner or "A"], "lotse": "15085", "ministry": "15", "admin": "15"}[role]
        body = dc.CreatePerson(
            email=email, name="Wera Wegwerf", organisation_id=org, roles=[role], password=STAFF_PASSWORD
        )
        directory = self.stack.processes["directory"].parts["service"]
        root = Principal(person_id="ops", organisation_id="15", roles=("admin",))
        person = await directory.create_person(root, body)
        return email, person.id

    async def person_id(self, owner: Owner) -> str:
        async def make() -> str:
            return str((await self.ok(self.member(owner).get("/api/v1/me")))["id"])

        return str(await self.once(f"person-{owner}", make))


# probes: what an administrator (or the database) sees of the object -------------------------


def admin_get(template: str) -> ProbeFn:
    async def probe(world: World, owner: Owner, path: str) -> Any:
        response = await world.admin.get(template.format(path=path))
        return response.status_code, response.text

    return probe


def owner_get(template: str) -> ProbeFn:
    async def probe(world: World, owner: Owner, path: str) -> Any:
        response = await world.member(owner).get(template.format(path=path))
        return response.status_code, response.text

    return probe


def count(service: str, collection: str) -> ProbeFn:
    async def probe(world: World, owner: Owner, path: str) -> Any:
        client = mongo.client(world.stack.settings.mongodb_url)
        try:
            db = client[world.stack.settings.names.database(service)]
            return await db[collection].count_documents({})
        finally:
            await client.close()

    return probe


def same_path(world: World, owner: Owner, path: str) -> Awaitable[Any]:
    return admin_get("{path}")(world, owner, path)


def parent(path: str, levels: int = 1) -> str:
    return path.rsplit("/", levels)[0]


def need_path(suffix: str = "") -> PathFn:
    async def build(world: World, owner: Owner) -> str:
        return f"/api/v1/needs/{await world.need(owner)}{suffix}"

    return build


need_of = need_path()


async def fresh_need(world: World, owner: Owner) -> str:
    return f"/api/v1/needs/{await world.need(owner, fresh=True)}"


def pilot_at(suffix: str = "", fresh: bool = False) -> PathFn:
    async def build(world: World, owner: Owner) -> str:
        return f"/api/v1/pilots/{await world.pilot(fresh=fresh)}{suffix}"

    return build


pilot_path = pilot_at()


def survey_path(suffix: str = "", state: str = "open", fresh: bool = False) -> PathFn:
    async def build(world: World, owner: Owner) -> str:
        return f"/api/v1/surveys/{await world.survey(owner, fresh=fresh, state=state)}{suffix}"

    return build


def poll_path(suffix: str = "", fresh: bool = False, visibility: str = "live") -> PathFn:
    async def build(world: World, owner: Owner) -> str:
        return f"/api/v1/polls/{await world.poll(owner, fresh=fresh, visibility=visibility)}{suffix}"

    return build


async def topic_path(world: World, owner: Owner) -> str:
    return f"/api/v1/topics/{await world.topic()}"


async def fresh_topic(world: World, owner: Owner) -> str:
    return f"/api/v1/topics/{await world.topic(fresh=True)}"


async def group_topics(world: World, owner: Owner) -> str:
    return f"/api/v1/groups/{GROUP[owner or 'A']}/topics"


async def membership(world: World, owner: Owner) -> str:
    # member A into the AG of Kommune B; idempotent, so every allowed case sees the same state
    return f"/api/v1/groups/{GROUP['B']}/members/{await world.person_id('A')}"


async def token_path(world: World, owner: Owner) -> str:
    return f"/api/v1/tokens/{await world.token(owner)}"


async def entry_path(world: World, owner: Owner) -> str:
    return f"/api/v1/notifications/{await world.inbox_entry(owner)}/read"


async def deliveries_path(world: World, owner: Owner) -> str:
    return f"/api/v1/webhooks/{await world.webhook()}/deliveries"


async def fresh_webhook(world: World, owner: Owner) -> str:
    return f"/api/v1/webhooks/{await world.webhook(fresh=True)}"


def person_body(world: World, owner: Owner) -> Any:
    return {
        "email": f"neu-{uuid.uuid4().hex[:8]}@halle.example",
        "name": "Nora Neu",
        "organisation_id": B,
        "roles": ["member"],
        "password": "ein-langes-passwort-123",
    }


def invitation_body(world: World, owner: Owner) -> Any:
    body = person_body(world, owner)
    del body["password"]
    return body


async def ballot_body(world: World, owner: Owner) -> Any:
    return {"choice": await world.option(await world.poll(owner))}


async def entry_read(world: World, owner: Owner, path: str) -> Any:
    """Whether the owner's entry is read (other entries keep arriving meanwhile)."""
    entry_id = path.split("/")[-2]
    page = await world.ok(world.member(owner).get("/api/v1/notifications?limit=100"))
    return [item["read"] for item in page["items"] if item["id"] == entry_id]


async def ballot_count(world: World, owner: Owner, path: str) -> Any:
    response = await world.admin.get(parent(path) + "/results")
    return response.status_code, response.json().get("ballots")


def const(value: Any) -> BodyFn:
    return lambda world, owner: value


async def _survey_probe(world: World, owner: Owner, path: str) -> Any:
    return await admin_get("{path}")(world, owner, path.split("/response")[0].removesuffix("/publish"))


MEETING_START = (datetime.now(UTC) + timedelta(days=35)).strftime("%Y-%m-%dT09:00")
OCCURRENCE = MEETING_START.replace("-", "").replace(":", "")  # the first date's key: 20260101T0900


def meeting_path(suffix: str = "", fresh: bool = False) -> PathFn:
    async def build(world: World, owner: Owner) -> str:
        return f"/api/v1/meetings/{await world.meeting(owner, fresh=fresh)}{suffix}"

    return build


def feed_path(group_of: str | None = None) -> PathFn:
    """Member A's calendar; with `group_of`, the calendar of that Kommune's AG through A's token."""

    async def build(world: World, owner: Owner) -> str:
        token = await world.feed_token("A")
        if group_of is None:
            return f"/api/v1/meetings/feeds/{token}/termine.ics"
        return f"/api/v1/meetings/feeds/{token}/groups/{GROUP[group_of]}/termine.ics"

    return build


async def throwaway_target(world: World, owner: Owner) -> str:
    return f"/api/v1/people/{(await world.throwaway_person(owner))[1]}/deletion"


async def person_export(world: World, owner: Owner) -> str:
    return f"/api/v1/people/{await world.person_id(owner)}/export"


def person_count(world: World, owner: Owner, path: str) -> Awaitable[Any]:
    async def probe() -> Any:
        person_id = path.split("/")[4]
        client = mongo.client(world.stack.settings.mongodb_url)
        try:
            db = client[world.stack.settings.names.database("directory")]
            return await db["people"].find_one({"_id": person_id}, {"email": 1, "active": 1})
        finally:
            await client.close()

    return probe()


SPOTLIGHT_BODY = {
    "title": "Matrix-Spotlight",
    "proposal": "Ein Vorschlag für die Rechteprüfung.",
    "reasoning": "Weil die Matrix jeden Weg prüft.",
    "ressort_ids": ["ressort-mid"],
}


async def spotlight_path(world: World, owner: Owner) -> str:
    return f"/api/v1/spotlights/{await world.spotlight()}"


async def fresh_spotlight(world: World, owner: Owner) -> str:
    return f"/api/v1/spotlights/{await world.spotlight(fresh=True)}"


async def spotlight_body(world: World, owner: Owner) -> Any:
    return {**SPOTLIGHT_BODY, "title": "Neuer Matrix-Spotlight", "topic_id": await world.topic()}


MEETING_BODY = {
    "title": "Geänderter Matrixtermin",
    "start": MEETING_START,
    "duration_minutes": 90,
    "rrule": "FREQ=WEEKLY;COUNT=4",
    "capacity": 20,
    "location": "Magdeburg, Ministerium, Raum 2",
}


OWN_OK = Own(200, 403)
SURVEY_EDIT = {**survey_definition([A], title="Geänderte Matrixumfrage"), "revision": 0}

ROWS: list[Row] = [
    # session and tokens
    Row(
        "POST",
        "/api/v1/session",
        everyone(401, anon=401),
        static("/api/v1/session"),
        # a new unknown address each time: five failures for one address lock it (429)
        lambda w, o: {"email": f"niemand-{uuid.uuid4().hex[:8]}@gdst.example", "password": "falsch-falsch"},
        note="wrong credentials are 401 for everyone; nothing else to authorise",
    ),
    Row("DELETE", "/api/v1/session", everyone(204, anon=204), static("/api/v1/session"), fresh_login=True),
    Row("POST", "/api/v1/tokens", everyone(201), static("/api/v1/tokens"), const({"name": "Matrix"})),
    Row(
        "DELETE",
        "/api/v1/tokens/{token_id:str}",
        expect(a=Own(204, 404), lotse=404, ministry=404, admin=404),
        token_path,
        owned=True,
        probe=count("directory", "tokens"),
    ),
    # directory
    Row("GET", "/api/v1/me", everyone(200), static("/api/v1/me")),
    Row("GET", "/api/v1/organisations", everyone(200), static("/api/v1/organisations")),
    Row("GET", "/api/v1/organisations/{org_id:str}", everyone(200), static(f"/api/v1/organisations/{B}")),
    Row(
        "POST",
        "/api/v1/people",
        expect(ministry=201),
        static("/api/v1/people"),
        person_body,
        probe=count("directory", "people"),
    ),
    Row(
        "POST",
        "/api/v1/invitations",
        expect(ministry=201),
        static("/api/v1/invitations"),
        invitation_body,
        probe=count("directory", "invitations"),
    ),
    Row(
        "POST",
        "/api/v1/invitations/{token:str}/accept",
        everyone(404, anon=404),
        static("/api/v1/invitations/unbekanntes-token-0000000000/accept"),
        const({"password": "ein-langes-passwort-123"}),
        note="an unknown token is 404 for anyone; the token is the authorisation",
    ),
    Row("GET", "/api/v1/groups", everyone(200), static("/api/v1/groups")),
    Row(
        "PUT",
        "/api/v1/groups/{group_id:str}/members/{person_id:str}",
        expect(lotse=204, ministry=204),
        membership,
        probe=admin_get("/api/v1/groups"),
    ),
    Row(
        "DELETE",
        "/api/v1/groups/{group_id:str}/members/{person_id:str}",
        expect(lotse=204, ministry=204),
        membership,
        probe=admin_get("/api/v1/groups"),
    ),
    # needs
    Row(
        "POST",
        "/api/v1/needs",
        expect(a=201, lotse=201, ministry=403),
        static("/api/v1/needs"),
        const({"title": "Neuer Matrixbedarf", "description": "Beschreibung.", "category": "querschnitt"}),
        probe=count("needs", "needs"),
    ),
    Row("GET", "/api/v1/needs", everyone(200), static("/api/v1/needs")),
    Row("GET", "/api/v1/needs/similar", everyone(200), static("/api/v1/needs/similar?text=Akte")),
    Row("GET", "/api/v1/needs/{need_id:str}", everyone(200), need_of, owned=True),
    Row(
        "PATCH",
        "/api/v1/needs/{need_id:str}",
        expect(lotse=200, ministry=200),
        fresh_need,
        const({"status": "in_pruefung"}),
        owned=True,
        probe=same_path,
    ),
    Row(
        "POST",
        "/api/v1/needs/{need_id:str}/solutions",
        everyone(201),
        need_path("/solutions"),
        const({"title": "EfA-Dienst", "description": "Ein Lösungsansatz.", "kind": "efa_onlinedienst"}),
        owned=True,
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    Row(
        "PUT",
        "/api/v1/needs/{need_id:str}/support",
        expect(a=200, lotse=200, ministry=403),
        need_path("/support"),
        const({"comment": "Wir auch."}),
        owned=True,
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    Row(
        "DELETE",
        "/api/v1/needs/{need_id:str}/support",
        expect(a=Own(409, 204), lotse=204, ministry=403),
        need_path("/support"),
        owned=True,
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    # pilots
    Row(
        "POST",
        "/api/v1/pilots",
        expect(ministry=201),
        static("/api/v1/pilots"),
        None,
        probe=count("needs", "pilots"),
    ),
    Row("GET", "/api/v1/pilots", everyone(200), static("/api/v1/pilots")),
    Row("GET", "/api/v1/pilots/{pilot_id:str}", everyone(200), pilot_path),
    Row(
        "PUT",
        "/api/v1/pilots/{pilot_id:str}/signup",
        expect(a=200, lotse=200, ministry=403),
        pilot_at("/signup"),
        const({"contact_name": "Karla Kontakt", "contact_email": "karla@kommune.example"}),
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    Row(
        "DELETE",
        "/api/v1/pilots/{pilot_id:str}/signup",
        expect(a=204, lotse=204, ministry=403),
        pilot_at("/signup"),
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    Row(
        "POST",
        "/api/v1/pilots/{pilot_id:str}/selection",
        expect(ministry=200),
        pilot_at("/selection", fresh=True),
        const({"organisation_ids": [A]}),
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    # notifications and webhooks
    Row("GET", "/api/v1/notifications", everyone(200), static("/api/v1/notifications")),
    Row("POST", "/api/v1/notifications/read-all", everyone(204), static("/api/v1/notifications/read-all")),
    Row(
        "POST",
        "/api/v1/notifications/{entry_id:str}/read",
        expect(a=Own(204, 404), lotse=404, ministry=404),
        entry_path,
        owned=True,
        probe=entry_read,
    ),
    Row("GET", "/api/v1/notification-preferences", everyone(200), static("/api/v1/notification-preferences")),
    Row(
        "PUT",
        "/api/v1/notification-preferences",
        everyone(200),
        static("/api/v1/notification-preferences"),
        const({"survey.published": {"email": "daily", "inapp": True}}),
    ),
    Row(
        "POST",
        "/api/v1/webhooks",
        expect(ministry=201),
        static("/api/v1/webhooks"),
        const({"url": "http://127.0.0.1:9/neu", "event_types": ["need.reported"]}),
        probe=count("notifications", "webhooks"),
    ),
    Row("GET", "/api/v1/webhooks", MINISTRY_ONLY, static("/api/v1/webhooks")),
    Row(
        "DELETE",
        "/api/v1/webhooks/{webhook_id:str}",
        expect(ministry=204),
        fresh_webhook,
        probe=admin_get("/api/v1/webhooks"),
    ),
    Row("GET", "/api/v1/webhooks/{webhook_id:str}/deliveries", MINISTRY_ONLY, deliveries_path),
    Row("GET", "/api/v1/admin/parked-events", expect(admin=200), static("/api/v1/admin/parked-events")),
    Row("GET", "/api/v1/admin/mail-problems", expect(admin=200), static("/api/v1/admin/mail-problems")),
    # AG topics and polls
    Row(
        "POST",
        "/api/v1/groups/{group_id:str}/topics",
        expect(a=Own(201, 403), lotse=201, ministry=201),
        group_topics,
        const({"title": "Vorschlag aus der Matrix", "description": ""}),
        owned=True,
        probe=lambda w, o, p: admin_get("{path}")(w, o, p),
    ),
    Row("GET", "/api/v1/groups/{group_id:str}/topics", everyone(200), group_topics, owned=True),
    Row("GET", "/api/v1/topics/{topic_id:str}", everyone(200), topic_path),
    Row(
        "PATCH",
        "/api/v1/topics/{topic_id:str}",
        expect(lotse=200, ministry=200),
        fresh_topic,
        const({"status": "dropped", "reason": "Matrix"}),
        probe=same_path,
    ),
    Row(
        "POST",
        "/api/v1/polls",
        expect(lotse=201, ministry=201),
        static("/api/v1/polls"),
        const(
            {
                "title": "Neue Matrixabstimmung",
                "options": [{"label": "Eins"}, {"label": "Zwei"}],
                "method": {"kind": "single"},
                "voters": "person",
                "results_visibility": "live",
                "closes_at": later(hours=2),
            }
        ),
        probe=count("surveys", "polls"),
    ),
    Row("GET", "/api/v1/polls", everyone(200), static("/api/v1/polls")),
    Row("GET", "/api/v1/polls/{poll_id:str}", everyone(200), poll_path(), owned=True),
    Row(
        "PUT",
        "/api/v1/polls/{poll_id:str}/ballot",
        expect(a=OWN_OK),
        poll_path("/ballot"),
        ballot_body,
        owned=True,
        probe=ballot_count,
    ),
    Row(
        "GET", "/api/v1/polls/{poll_id:str}/ballot", expect(a=Own(200, 403)), poll_path("/ballot"), owned=True
    ),
    Row("GET", "/api/v1/polls/{poll_id:str}/results", everyone(200), poll_path("/results"), owned=True),
    Row(
        "GET",
        "/api/v1/polls/{poll_id:str}/results",
        everyone(200),
        poll_path("/results", visibility="after_close"),
        note="hidden until close: the same empty count for everyone, the ministry included",
    ),
    Row(
        "GET",
        "/api/v1/polls/{poll_id:str}/results/stream",
        everyone(200),
        poll_path("/results/stream"),
        stream=True,
    ),
    Row(
        "POST",
        "/api/v1/polls/{poll_id:str}/close",
        expect(lotse=200, ministry=200),
        poll_path("/close", fresh=True),
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    Row(
        "GET",
        "/api/v1/polls/{poll_id:str}/ballots.csv",
        everyone(200),
        poll_path("/ballots.csv"),
        note="pseudonymised ballots are public to every participant for recounting (docs/voting.md)",
    ),
    Row(
        "GET",
        "/api/v1/polls/{poll_id:str}/ballots.csv",
        everyone(409),
        poll_path("/ballots.csv", visibility="after_close"),
        note="hidden results: no ballots for anyone before the close",
    ),
    # Spotlights (docs/spotlights.md: Lotsen, ministry and admins draft and submit; the ministry
    # decides) and the dashboard (every signed-in person)
    Row(
        "POST",
        "/api/v1/spotlights",
        expect(lotse=201, ministry=201),
        static("/api/v1/spotlights"),
        spotlight_body,
        probe=count("surveys", "spotlights"),
    ),
    Row("GET", "/api/v1/spotlights", everyone(200), static("/api/v1/spotlights")),
    Row("GET", "/api/v1/spotlights/{spotlight_id:str}", everyone(200), spotlight_path),
    Row(
        "PATCH",
        "/api/v1/spotlights/{spotlight_id:str}",
        expect(lotse=200, ministry=200),
        fresh_spotlight,
        const({"status": "eingereicht", "comment": "Aus der Matrix eingereicht"}),
        probe=same_path,
    ),
    Row("GET", "/api/v1/dashboard", everyone(200), static("/api/v1/dashboard")),
    # meetings (docs/meetings.md: ministry, admins and Lotsen plan; everyone registers)
    Row(
        "POST",
        "/api/v1/meetings",
        expect(lotse=201, ministry=201),
        static("/api/v1/meetings"),
        const({**MEETING_BODY, "title": "Neuer Matrixtermin"}),
        probe=count("meetings", "meetings"),
    ),
    Row("GET", "/api/v1/meetings", everyone(200), static("/api/v1/meetings")),
    Row("GET", "/api/v1/meetings/occurrences", everyone(200), static("/api/v1/meetings/occurrences")),
    Row("GET", "/api/v1/meetings/stats", everyone(200), static("/api/v1/meetings/stats")),
    Row("GET", "/api/v1/meetings/feed", everyone(200), static("/api/v1/meetings/feed")),
    Row("POST", "/api/v1/meetings/feed", everyone(200), static("/api/v1/meetings/feed")),
    Row("GET", "/api/v1/meetings/{meeting_id:str}", everyone(200), meeting_path(), owned=True),
    Row(
        "PUT",
        "/api/v1/meetings/{meeting_id:str}",
        expect(lotse=200, ministry=200),
        meeting_path(),
        const(MEETING_BODY),
        owned=True,
        probe=same_path,
    ),
    Row(
        "POST",
        "/api/v1/meetings/{meeting_id:str}/cancel",
        expect(lotse=200, ministry=200),
        meeting_path("/cancel", fresh=True),
        const({"reason": "Fällt aus (Matrix)."}),
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    Row(
        "POST",
        "/api/v1/meetings/{meeting_id:str}/occurrences/{occurrence:str}/cancel",
        expect(lotse=200, ministry=200),
        meeting_path(f"/occurrences/{OCCURRENCE}/cancel", fresh=True),
        const({"reason": "Fällt aus (Matrix)."}),
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p, 3)),
    ),
    Row(
        "POST",
        "/api/v1/meetings/{meeting_id:str}/occurrences/{occurrence:str}/move",
        expect(lotse=200, ministry=200),
        meeting_path(f"/occurrences/{OCCURRENCE}/move", fresh=True),
        const({"start": MEETING_START.replace("T09:00", "T11:00")}),
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p, 3)),
    ),
    Row(
        "PUT",
        "/api/v1/meetings/{meeting_id:str}/registration",
        everyone(200),
        meeting_path("/registration"),
        owned=True,
        note="everyone signed in registers themselves, AG or not (docs/meetings.md)",
    ),
    Row(
        "DELETE",
        "/api/v1/meetings/{meeting_id:str}/registration",
        everyone(204),
        meeting_path("/registration"),
        owned=True,
    ),
    Row(
        "GET",
        "/api/v1/meetings/feeds/{token:str}/termine.ics",
        everyone(200, anon=200),
        feed_path(),
        note="calendar programs cannot log in: the secret token is the permission",
    ),
    Row(
        "GET",
        "/api/v1/meetings/feeds/{token:str}/termine.ics",
        everyone(404, anon=404),
        static("/api/v1/meetings/feeds/kein-gueltiges-token-000000/termine.ics"),
    ),
    Row(
        "GET",
        "/api/v1/meetings/feeds/{token:str}/groups/{group_id:str}/termine.ics",
        everyone(200, anon=200),
        feed_path(group_of="A"),
    ),
    Row(
        "GET",
        "/api/v1/meetings/feeds/{token:str}/groups/{group_id:str}/termine.ics",
        everyone(200, anon=200),
        feed_path(group_of="B"),
        note="any AG's calendar: every signed-in person sees all meetings anyway (docs/meetings.md)",
    ),
    # privacy and audit (docs/privacy.md)
    Row("GET", "/api/v1/me/export", everyone(200), static("/api/v1/me/export")),
    Row(
        "POST",
        "/api/v1/me/deletion",
        everyone(202),
        static("/api/v1/me/deletion"),
        const({"confirm": True}),
        throwaway=True,
    ),
    Row(
        "GET",
        "/api/v1/people/{person_id:str}/export",
        expect(admin=200),
        person_export,
        owned=True,
    ),
    Row(
        "POST",
        "/api/v1/people/{person_id:str}/deletion",
        expect(admin=202),
        throwaway_target,
        const({"confirm": True}),
        owned=True,
        probe=person_count,
    ),
    Row("GET", "/api/v1/audit", expect(admin=200), static("/api/v1/audit")),
    # surveys
    Row(
        "POST",
        "/api/v1/surveys",
        expect(ministry=201),
        static("/api/v1/surveys"),
        const(survey_definition([A])),
        probe=count("surveys", "surveys"),
    ),
    Row("GET", "/api/v1/surveys", everyone(200), static("/api/v1/surveys")),
    Row(
        "GET",
        "/api/v1/surveys/{survey_id:str}",
        expect(a=Own(200, 403), lotse=403, ministry=200),
        survey_path(),
        owned=True,
    ),
    Row(
        "GET",
        "/api/v1/surveys/{survey_id:str}",
        expect(a=404, lotse=404, ministry=200),
        survey_path(state="draft"),
        note="drafts exist only for the ministry",
    ),
    Row(
        "PUT",
        "/api/v1/surveys/{survey_id:str}",
        expect(a=403, lotse=403, ministry=200),
        survey_path(state="draft", fresh=True),
        const(SURVEY_EDIT),
        probe=same_path,
    ),
    Row(
        "DELETE",
        "/api/v1/surveys/{survey_id:str}",
        expect(a=403, lotse=403, ministry=204),
        survey_path(state="draft", fresh=True),
        probe=same_path,
    ),
    Row(
        "POST",
        "/api/v1/surveys/{survey_id:str}/publish",
        expect(a=403, lotse=403, ministry=200),
        survey_path("/publish", state="draft", fresh=True),
        probe=_survey_probe,
    ),
    Row(
        "POST",
        "/api/v1/surveys/{survey_id:str}/close",
        expect(a=Own(403, 403), lotse=403, ministry=200),
        survey_path("/close", fresh=True),
        owned=True,
        probe=lambda w, o, p: admin_get("{path}")(w, o, parent(p)),
    ),
    Row(
        "GET",
        "/api/v1/surveys/{survey_id:str}/response",
        expect(a=OWN_OK, lotse=403, ministry=403),
        survey_path("/response"),
        owned=True,
    ),
    Row(
        "PUT",
        "/api/v1/surveys/{survey_id:str}/response",
        expect(a=OWN_OK, lotse=403, ministry=403),
        survey_path("/response"),
        const({"answers": {"q1": "Ja"}}),
        owned=True,
        probe=owner_get("{path}"),
    ),
    Row(
        "POST",
        "/api/v1/surveys/{survey_id:str}/response/submit",
        expect(a=OWN_OK, lotse=403, ministry=403),
        survey_path("/response/submit", fresh=True),
        owned=True,
        probe=count("surveys", "survey_responses"),
    ),
    Row(
        "POST",
        "/api/v1/surveys/{survey_id:str}/response/reopen",
        expect(a=OWN_OK, lotse=403, ministry=403),
        survey_path("/response/reopen", state="submitted", fresh=True),
        owned=True,
        probe=owner_get("{path}"),
    ),
    Row(
        "GET",
        "/api/v1/surveys/{survey_id:str}/progress",
        MINISTRY_ONLY,
        survey_path("/progress"),
        owned=True,
    ),
    Row(
        "POST",
        "/api/v1/surveys/{survey_id:str}/reminders",
        expect(ministry=202),
        survey_path("/reminders"),
        owned=True,
    ),
    Row(
        "GET",
        "/api/v1/surveys/{survey_id:str}/results",
        expect(a=403, lotse=403, ministry=200),
        survey_path("/results"),
        owned=True,
        note="open surveys' results are the ministry's until close",
    ),
    Row(
        "GET",
        "/api/v1/surveys/{survey_id:str}/results",
        expect(a=OWN_OK, lotse=403, ministry=200),
        survey_path("/results", state="closed"),
        owned=True,
        note="after the close the addressed Kommunen see the (anonymous) results too",
    ),
    Row(
        "PUT",
        "/api/v1/surveys/{survey_id:str}/response",
        expect(a=Own(409, 403), lotse=403, ministry=403),
        survey_path("/response", state="closed"),
        const({"answers": {"q1": "Nein"}}),
        owned=True,
        probe=owner_get("{path}"),
    ),
    Row("GET", "/api/v1/surveys/{survey_id:str}/results.csv", MINISTRY_ONLY, survey_path("/results.csv")),
    Row("GET", "/api/v1/surveys/{survey_id:str}/results.xlsx", MINISTRY_ONLY, survey_path("/results.xlsx")),
]


def registered_routes() -> set[tuple[str, str]]:
    app = create_app(Settings())
    return {
        (method, route.path)
        for route in app.routes
        if route.path.startswith("/api/v1")
        for method in route.methods - {"OPTIONS", "HEAD"}
    }


class TestCoverage:
    def test_every_api_route_has_a_row(self) -> None:
        covered = {(row.method, row.route) for row in ROWS}
        missing = sorted(registered_routes() - covered, key=lambda r: (r[1], r[0]))
        assert missing == [], f"routes without a row in the authorisation matrix: {missing}"

    def test_no_row_for_a_route_that_does_not_exist(self) -> None:
        stale = {(row.method, row.route) for row in ROWS} - registered_routes()
        assert stale == set()


async def _people(stack: Stack) -> dict[str, httpx.AsyncClient]:
    ministry = await stack.login(MINISTRY)
    lotse = {
        "email": LOTSE_EMAIL,
        "name": "Lotte Lotse",
        "organisation_id": "15085",
        "roles": ["lotse"],
        "password": STAFF_PASSWORD,
    }
    response = await ministry.post("/api/v1/people", json=lotse)
    assert response.status_code == 201, response.text
    # only an administrator may grant the admin role; the first one comes from operations
    directory = stack.processes["directory"].parts["service"]
    root = Principal(person_id="ops", organisation_id="15", roles=("admin",))
    await directory.create_person(
        root,
        dc.CreatePerson(
            email=ADMIN_EMAIL,
            name="Ada Admin",
            organisation_id="15",
            roles=["admin"],
            password=STAFF_PASSWORD,
        ),
    )
    return {
        "anon": stack.client(),
        "a": await stack.login(f"kommune-{A}@gdst.example"),
        "b": await stack.login(f"kommune-{B}@gdst.example"),
        "lotse": await stack.login(LOTSE_EMAIL, STAFF_PASSWORD),
        "ministry": ministry,
        "admin": await stack.login(ADMIN_EMAIL, STAFF_PASSWORD),
    }


def _expected(row: Row, role: str, owner: Owner) -> int:
    outcome = row.expect[role]
    if isinstance(outcome, Own):
        mine = (role == "a" and owner == "A") or (role == "b" and owner == "B")
        return outcome.yes if mine else outcome.no
    return outcome


async def _send(world: World, row: Row, role: str, owner: Owner) -> tuple[int, str, Any, Any]:
    path = await row.path(world, owner)
    client = world.clients[role]
    if row.fresh_login and role != "anon":
        email = {
            "a": f"kommune-{A}@gdst.example",
            "b": f"kommune-{B}@gdst.example",
            "lotse": LOTSE_EMAIL,
            "ministry": MINISTRY,
            "admin": ADMIN_EMAIL,
        }[role]
        password = STAFF_PASSWORD if role in ("lotse", "admin") else DEMO_PASSWORD
        client = await world.stack.login(email, password)
    if row.throwaway and role != "anon":
        kind = {"a": "member", "b": "member"}.get(role, role)
        email, _ = await world.throwaway_person("A" if role == "a" else "B", kind)
        client = await world.stack.login(email, STAFF_PASSWORD)
    before = await row.probe(world, owner, path) if row.probe else None
    body = row.body(world, owner) if row.body else None
    if asyncio.iscoroutine(body):
        body = await body
    if row.method == "POST" and body is None and row.route == "/api/v1/pilots":
        need_id = await world.need("A")
        body = {
            "title": "Neuer Matrixpilot",
            "description": "Beschreibung.",
            "need_ids": [need_id],
            "capacity": 2,
            "signup_closes_at": later(days=3),
        }
    if row.stream:
        async with client.stream(row.method, path, timeout=10.0) as response:
            status = response.status_code
    else:
        response = await client.request(row.method, path, json=body)
        status = response.status_code
    after = await row.probe(world, owner, path) if row.probe else None
    return status, path, before, after


async def test_matrix(stack: Stack, figures: Recorder) -> None:
    world = World(stack, await _people(stack))
    findings: list[str] = []
    cases = 0
    denied_writes = 0
    for row in ROWS:
        for owner in ("A", "B") if row.owned else (None,):
            for role in ROLES:
                want = _expected(row, role, owner)
                status, path, before, after = await _send(world, row, role, owner)
                cases += 1
                where = f"{row.method} {path} as {role} (owner {owner or '-'})"
                if status != want:
                    findings.append(f"{where}: {status}, expected {want}")
                elif status >= 400 and row.probe is not None:
                    denied_writes += 1
                    if before != after:
                        findings.append(f"{where}: denied with {status} but changed {before!r} → {after!r}")
    figures.record("authorisation", "routes covered", len({(r.method, r.route) for r in ROWS}))
    figures.record("authorisation", "cases checked", cases)
    figures.record("authorisation", "denied writes checked unchanged", denied_writes)
    figures.record("authorisation", "wrong outcomes", len(findings))
    assert findings == [], "\n".join(findings)
