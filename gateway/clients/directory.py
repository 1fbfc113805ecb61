"""Calls into the directory service."""

from __future__ import annotations

from services.contracts import directory as c
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

E = c.Endpoints


class DirectoryClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def authenticate(self, email: str, password: str, client: str) -> c.Authenticated:
        req = c.Authenticate(email=email, password=password, client=client)
        return await self.rpc.call(c.SERVICE, E.AUTHENTICATE, req, c.Authenticated)

    async def me(self, who: Principal) -> c.Me:
        return await self.rpc.call(c.SERVICE, E.ME, Empty(), c.Me, principal=who)

    async def organisations(self, who: Principal, req: c.ListOrganisations) -> c.OrganisationPage:
        return await self.rpc.call(c.SERVICE, E.ORGANISATIONS_LIST, req, c.OrganisationPage, principal=who)

    async def organisation(self, who: Principal, org_id: str) -> c.Organisation:
        return await self.rpc.call(
            c.SERVICE, E.ORGANISATION_GET, c.GetById(id=org_id), c.Organisation, principal=who
        )

    async def create_person(self, who: Principal, req: c.CreatePerson) -> c.Person:
        return await self.rpc.call(c.SERVICE, E.PERSON_CREATE, req, c.Person, principal=who)

    async def invite(self, who: Principal, req: c.CreateInvitation) -> c.Invitation:
        return await self.rpc.call(c.SERVICE, E.INVITATION_CREATE, req, c.Invitation, principal=who)

    async def peek_invitation(self, token: str) -> c.InvitationPreview:
        req = c.PeekInvitation(token=token)
        return await self.rpc.call(c.SERVICE, E.INVITATION_PEEK, req, c.InvitationPreview)

    async def accept_invitation(self, token: str, password: str) -> c.Person:
        req = c.AcceptInvitation(token=token, password=password)
        return await self.rpc.call(c.SERVICE, E.INVITATION_ACCEPT, req, c.Person)

    async def create_token(self, who: Principal, name: str) -> c.CreatedToken:
        req = c.CreateToken(name=name)
        return await self.rpc.call(c.SERVICE, E.TOKEN_CREATE, req, c.CreatedToken, principal=who)

    async def delete_token(self, who: Principal, token_id: str) -> None:
        await self.rpc.call(c.SERVICE, E.TOKEN_DELETE, c.GetById(id=token_id), type(None), principal=who)

    async def groups(self, who: Principal) -> c.GroupPage:
        return await self.rpc.call(c.SERVICE, E.GROUPS_LIST, Empty(), c.GroupPage, principal=who)

    async def add_member(self, who: Principal, group_id: str, person_id: str) -> None:
        req = c.Membership(group_id=group_id, person_id=person_id)
        await self.rpc.call(c.SERVICE, E.MEMBERSHIP_PUT, req, type(None), principal=who)

    async def remove_member(self, who: Principal, group_id: str, person_id: str) -> None:
        req = c.Membership(group_id=group_id, person_id=person_id)
        await self.rpc.call(c.SERVICE, E.MEMBERSHIP_DELETE, req, type(None), principal=who)
