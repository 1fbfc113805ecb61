"""Transport adapter: NATS micro endpoints of the directory, each a thin call into the service."""

from __future__ import annotations

from typing import Any

from services.contracts import directory as c
from services.contracts import privacy as pv
from services.contracts import stats as st
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.directory.service import DirectoryService
from services.runtime.rpc import Endpoint, required

E = c.Endpoints


def endpoints(svc: DirectoryService) -> list[Endpoint[Any]]:
    async def list_orgs(p: Principal | None, r: c.ListOrganisations) -> c.OrganisationPage:
        return await svc.list_organisations(r)

    async def get_org(p: Principal | None, r: c.GetById) -> c.Organisation:
        return await svc.get_organisation(r.id)

    async def orgs_batch(p: Principal | None, r: c.GetOrganisations) -> c.OrganisationList:
        return await svc.organisations_by_ids(r.ids)

    async def group_members(p: Principal | None, r: c.GetGroupMembers) -> c.MemberList:
        return await svc.group_members(required(p), r.group_id)

    async def people_of_orgs(p: Principal | None, r: c.GetPeopleOfOrganisations) -> c.PeopleList:
        return await svc.people_of_organisations(required(p), r)

    async def people_by_ids(p: Principal | None, r: c.GetPeople) -> c.PeopleList:
        return await svc.people_by_ids(required(p), r.ids)

    async def create_person(p: Principal | None, r: c.CreatePerson) -> c.Person:
        return await svc.create_person(required(p), r)

    async def invite(p: Principal | None, r: c.CreateInvitation) -> c.Invitation:
        return await svc.invite(required(p), r)

    async def peek(p: Principal | None, r: c.PeekInvitation) -> c.InvitationPreview:
        return await svc.peek_invitation(r.token)

    async def accept(p: Principal | None, r: c.AcceptInvitation) -> c.Person:
        return await svc.accept_invitation(r)

    async def authenticate(p: Principal | None, r: c.Authenticate) -> c.Authenticated:
        return await svc.authenticate(r)

    async def me(p: Principal | None, r: Empty) -> c.Me:
        return await svc.me(required(p))

    async def create_token(p: Principal | None, r: c.CreateToken) -> c.CreatedToken:
        return await svc.create_token(required(p), r)

    async def delete_token(p: Principal | None, r: c.GetById) -> None:
        await svc.delete_token(required(p), r.id)

    async def resolve_token(p: Principal | None, r: c.ResolveToken) -> Principal:
        return await svc.resolve_token(r.token)

    async def groups(p: Principal | None, r: Empty) -> c.GroupPage:
        return await svc.list_groups()

    async def add_member(p: Principal | None, r: c.Membership) -> None:
        await svc.add_member(required(p), r)

    async def remove_member(p: Principal | None, r: c.Membership) -> None:
        await svc.remove_member(required(p), r)

    async def delete_person(p: Principal | None, r: pv.DeletionRequest) -> pv.DeletionAccepted:
        return await svc.request_deletion(required(p), r)

    async def stats(p: Principal | None, r: st.StatsRequest) -> st.DirectoryStats:
        required(p)
        return await svc.stats()

    return [
        Endpoint(pv.DELETION_ENDPOINT, pv.DeletionRequest, delete_person),
        Endpoint(st.Endpoints.DIRECTORY, st.StatsRequest, stats),
        Endpoint(E.ORGANISATIONS_LIST, c.ListOrganisations, list_orgs),
        Endpoint(E.ORGANISATION_GET, c.GetById, get_org),
        Endpoint(E.ORGANISATIONS_BATCH, c.GetOrganisations, orgs_batch),
        Endpoint(E.GROUP_MEMBERS, c.GetGroupMembers, group_members),
        Endpoint(E.PEOPLE_OF_ORGANISATIONS, c.GetPeopleOfOrganisations, people_of_orgs),
        Endpoint(E.PEOPLE_BY_IDS, c.GetPeople, people_by_ids),
        Endpoint(E.PERSON_CREATE, c.CreatePerson, create_person),
        Endpoint(E.INVITATION_CREATE, c.CreateInvitation, invite),
        Endpoint(E.INVITATION_PEEK, c.PeekInvitation, peek, anonymous=True),
        Endpoint(E.INVITATION_ACCEPT, c.AcceptInvitation, accept, anonymous=True),
        Endpoint(E.AUTHENTICATE, c.Authenticate, authenticate, anonymous=True),
        Endpoint(E.ME, Empty, me),
        Endpoint(E.TOKEN_CREATE, c.CreateToken, create_token),
        Endpoint(E.TOKEN_DELETE, c.GetById, delete_token),
        Endpoint(E.TOKEN_RESOLVE, c.ResolveToken, resolve_token, anonymous=True),
        Endpoint(E.GROUPS_LIST, Empty, groups),
        Endpoint(E.MEMBERSHIP_PUT, c.Membership, add_member),
        Endpoint(E.MEMBERSHIP_DELETE, c.Membership, remove_member),
    ]
