"""Who is who for surveys, asked of the directory service over NATS (never its database):
resolving an audience into addressees, the caller's Kommune, the name of who saved."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from services.contracts import directory as d
from services.contracts import surveys as c
from services.contracts.envelope import FieldError, Principal
from services.runtime.errors import Forbidden, Invalid, NotFound
from services.runtime.grouping import Grouped
from services.runtime.rpc import RpcClient

NAME_TTL_SECONDS = 60.0
KREIS_KINDS = ("landkreis", "kreisfreie_stadt")
BATCH = 1000


def kreis_of(org: d.Organisation) -> str | None:
    kreis = org.id if org.kind in KREIS_KINDS else org.parent_id
    return kreis if kreis and len(kreis) == 5 else None


def snapshot(org: d.Organisation, kreis_names: dict[str, str]) -> dict[str, Any]:
    """What a survey keeps of an addressed Kommune, so progress and results need no lookups."""
    kreis = kreis_of(org)
    return {
        "id": org.id,
        "name": org.name,
        "kind": org.kind,
        "ags": org.ags,
        "kreis": kreis,
        "kreis_name": kreis_names.get(kreis or "", None),
    }


class _Names(Grouped[str, str]):
    """Names asked for at the same moment (the 218 Kommunen saving their first drafts) share one
    call; a person the directory does not know is named by their id."""

    def __init__(self, rpc: RpcClient, me: Principal) -> None:
        super().__init__(max_batch=100)
        self.rpc = rpc
        self.me = me

    async def name(self, person_id: str) -> str:
        return await self._submit(person_id)

    async def _send(self, items: list[str]) -> list[str | Exception]:
        # by id as this service: one lookup each in the directory (its "me" would also read the
        # caller's Kommune, memberships and every AG, none of which is needed for a name)
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.PEOPLE_BY_IDS,
            d.GetPeople(ids=sorted(set(items))),
            d.PeopleList,
            principal=self.me,
        )
        names = {p.id: p.name for p in found.items}
        return [names.get(i, i) for i in items]


class Directory:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        # the surveys service addresses people on its own behalf (api.md: service principal)
        self._me = Principal.for_service("surveys")
        self._names: dict[str, tuple[float, str]] = {}
        self._lookups = _Names(rpc, self._me)

    # lookups -------------------------------------------------------------------------

    async def organisations(self, ids: Iterable[str]) -> dict[str, d.Organisation]:
        wanted = sorted(set(ids))
        found: dict[str, d.Organisation] = {}
        for start in range(0, len(wanted), BATCH):
            page = await self.rpc.call(
                d.SERVICE,
                d.Endpoints.ORGANISATIONS_BATCH,
                d.GetOrganisations(ids=wanted[start : start + BATCH]),
                d.OrganisationList,
                principal=self._me,
            )
            found.update((o.id, o) for o in page.items)
        return found

    async def listing(self, *, parent: str | None = None) -> list[d.Organisation]:
        out: list[d.Organisation] = []
        cursor: str | None = None
        while True:
            page = await self.rpc.call(
                d.SERVICE,
                d.Endpoints.ORGANISATIONS_LIST,
                d.ListOrganisations(parent=parent, limit=100, cursor=cursor),
                d.OrganisationPage,
                principal=self._me,
            )
            out += page.items
            if not page.next_cursor:
                return out
            cursor = page.next_cursor

    async def members(self, group_id: str) -> list[d.Member]:
        try:
            found = await self.rpc.call(
                d.SERVICE,
                d.Endpoints.GROUP_MEMBERS,
                d.GetGroupMembers(group_id=group_id),
                d.MemberList,
                principal=self._me,
            )
        except NotFound as exc:
            raise Invalid(
                "Diese AG gibt es nicht.", [FieldError("audience.ids", f"Unbekannte AG „{group_id}“.")]
            ) from exc
        return found.items

    async def people(self, organisation_ids: list[str]) -> list[d.Person]:
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.PEOPLE_OF_ORGANISATIONS,
            d.GetPeopleOfOrganisations(organisation_ids=organisation_ids),
            d.PeopleList,
            principal=self._me,
        )
        return found.items

    async def name_of(self, who: Principal) -> str:
        """The caller's name (shown as "zuletzt gespeichert von"); remembered for a minute."""
        cached = self._names.get(who.person_id)
        now = time.monotonic()
        if cached and now - cached[0] < NAME_TTL_SECONDS:
            return cached[1]
        name = await self._lookups.name(who.person_id)
        if len(self._names) > 10_000:
            self._names.clear()
        self._names[who.person_id] = (now, name)
        return name

    async def kommune_of(self, who: Principal) -> dict[str, Any]:
        org = (await self.organisations([who.organisation_id])).get(who.organisation_id)
        if org is None or not d.is_kommune(org.kind):
            raise Forbidden("Nur Beschäftigte einer Kommune können für ihre Kommune antworten.")
        return (await self.snapshots([org]))[0]

    async def snapshots(self, orgs: list[d.Organisation]) -> list[dict[str, Any]]:
        kreise = {k for o in orgs if (k := kreis_of(o))}
        known = {o.id: o.name for o in orgs if o.id in kreise}
        missing = kreise - set(known)
        if missing:
            known.update((o.id, o.name) for o in (await self.organisations(missing)).values())
        return [snapshot(o, known) for o in orgs]

    # audiences -----------------------------------------------------------------------

    async def addressees(self, audience: c.Audience, respond_as: c.RespondAs) -> list[dict[str, Any]]:
        """The addressees of an audience: `{id, organisation, person?}` where `id` is the
        Kommune (answering per Kommune) or the person (answering per person)."""
        members: list[d.Member] = []
        if audience.kind == "all_kommunen":
            orgs = [o for o in await self.listing() if d.is_kommune(o.kind)]
        elif audience.kind == "landkreis":
            orgs = await self._kreis_kommunen(audience.ids)
        elif audience.kind == "organisations":
            orgs = await self._chosen(audience.ids)
        else:
            for group_id in audience.ids:
                members += await self.members(group_id)
            found = await self.organisations(m.organisation_id for m in members)
            orgs = [found[i] for i in sorted(found) if d.is_kommune(found[i].kind) or respond_as == "person"]
        if audience.organisation_kinds:
            orgs = [o for o in orgs if o.kind in audience.organisation_kinds]
        snaps = {s["id"]: s for s in await self.snapshots(orgs)}
        if respond_as == "organisation":
            return [{"id": s["id"], "organisation": s, "person": None} for s in snaps.values()]
        if audience.kind == "group":
            people = sorted({(m.person_id, m.name, m.organisation_id) for m in members})
        else:
            people = sorted(
                {(p.id, p.name, p.organisation_id) for p in await self.people(sorted(snaps)) if p.active}
            )
        return [
            {"id": pid, "organisation": snaps[org_id], "person": {"id": pid, "name": name}}
            for pid, name, org_id in people
            if org_id in snaps
        ]

    async def _kreis_kommunen(self, ids: list[str]) -> list[d.Organisation]:
        found = await self.organisations(ids)
        wrong = [i for i in ids if i not in found or found[i].kind not in KREIS_KINDS]
        if wrong:
            raise Invalid(
                "Unbekannter Landkreis.",
                [FieldError("audience.ids", f"„{wrong[0]}“ ist kein Landkreis und keine kreisfreie Stadt.")],
            )
        orgs: list[d.Organisation] = []
        for kreis_id in ids:
            if found[kreis_id].kind == "kreisfreie_stadt":
                orgs.append(found[kreis_id])
            else:
                orgs += await self.listing(parent=kreis_id)
        return orgs

    async def _chosen(self, ids: list[str]) -> list[d.Organisation]:
        found = await self.organisations(ids)
        wrong = [i for i in ids if i not in found or not d.is_kommune(found[i].kind)]
        if wrong:
            raise Invalid(
                "Unbekannte Kommune.",
                [FieldError("audience.ids", f"„{wrong[0]}“ ist keine bekannte Kommune.")],
            )
        return [found[i] for i in ids]
