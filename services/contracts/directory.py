"""Directory service: Kommunen, people, AGs, invitations, logins and API tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.contracts.common import Cursor, Email, Id, Limit, Name, Password, Token
from services.contracts.envelope import Principal

SERVICE = "directory"

OrganisationKind = Literal[
    "land", "ressort", "landkreis", "kreisfreie_stadt", "verbandsgemeinde", "stadt", "gemeinde"
]
# the Land and its ministries (Ressorts, children of the Land) act for no Kommune
LAND_KINDS = ("land", "ressort")


def is_kommune(kind: str) -> bool:
    return kind not in LAND_KINDS


Role = Literal["ministry", "member", "lotse", "admin"]


class Endpoints:
    ORGANISATIONS_LIST = "organisations.list"
    ORGANISATION_GET = "organisations.get"
    PERSON_CREATE = "people.create"
    INVITATION_CREATE = "invitations.create"
    INVITATION_PEEK = "invitations.peek"
    INVITATION_ACCEPT = "invitations.accept"
    AUTHENTICATE = "session.authenticate"
    ME = "me"
    TOKEN_CREATE = "tokens.create"
    TOKEN_DELETE = "tokens.delete"
    TOKEN_RESOLVE = "tokens.resolve"
    GROUPS_LIST = "groups.list"
    MEMBERSHIP_PUT = "groups.members.put"
    MEMBERSHIP_DELETE = "groups.members.delete"
    ORGANISATIONS_BATCH = "organisations.batch"
    GROUP_MEMBERS = "groups.members.list"
    PEOPLE_OF_ORGANISATIONS = "people.by_organisations"
    PEOPLE_BY_IDS = "people.by_ids"


# --- views ------------------------------------------------------------------------------


class Organisation(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: OrganisationKind
    ags: str
    parent_id: str | None = None
    population: int | None = None


class OrganisationRef(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: OrganisationKind
    ags: str


class GroupRef(msgspec.Struct, kw_only=True):
    id: str
    name: str


class Group(msgspec.Struct, kw_only=True):
    id: str
    name: str
    member_count: int


class Person(msgspec.Struct, kw_only=True):
    id: str
    name: str
    email: str
    roles: list[str]
    organisation_id: str
    active: bool


class Me(msgspec.Struct, kw_only=True):
    id: str
    name: str
    email: str
    roles: list[str]
    organisation: OrganisationRef
    groups: list[GroupRef]


class OrganisationPage(msgspec.Struct, kw_only=True):
    items: list[Organisation]
    next_cursor: str | None = None


class GroupPage(msgspec.Struct, kw_only=True):
    items: list[Group]
    next_cursor: str | None = None


# --- requests ---------------------------------------------------------------------------


class ListOrganisations(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: OrganisationKind | None = None
    parent: Id | None = None
    limit: Limit = 100
    cursor: Cursor | None = None


class GetOrganisations(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ids: Annotated[list[Id], msgspec.Meta(max_length=1000)]


class OrganisationList(msgspec.Struct, kw_only=True):
    items: list[Organisation]


class GetGroupMembers(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    group_id: Id


class Member(msgspec.Struct, kw_only=True):
    person_id: str
    name: str
    organisation_id: str
    roles: list[str]


class MemberList(msgspec.Struct, kw_only=True):
    items: list[Member]


class GetPeopleOfOrganisations(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    organisation_ids: Annotated[list[Id], msgspec.Meta(max_length=5000)]
    active_only: bool = True


class GetPeople(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ids: Annotated[list[Id], msgspec.Meta(max_length=5000)]


class PeopleList(msgspec.Struct, kw_only=True):
    items: list[Person]


class GetById(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class CreatePerson(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    name: Name
    organisation_id: Id
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=4)]
    password: Password | None = None


class CreateInvitation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    name: Name
    organisation_id: Id
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=4)]


class Invitation(msgspec.Struct, kw_only=True):
    id: str
    person_id: str
    email: str
    name: str
    organisation_id: str
    roles: list[str]
    expires_at: datetime


class PeekInvitation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Token


class InvitationPreview(msgspec.Struct, kw_only=True):
    name: str
    email: str
    organisation_name: str
    expires_at: datetime


class AcceptInvitation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Token
    password: Password


class Authenticate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=256)]
    client: Annotated[str, msgspec.Meta(max_length=100)] = ""


class Authenticated(msgspec.Struct, kw_only=True):
    principal: Principal
    person: Person


class CreateToken(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name


class CreatedToken(msgspec.Struct, kw_only=True):
    id: str
    name: str
    token: str


class ResolveToken(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(max_length=200)]


def token_key(token: str) -> str:
    """What a bearer token is stored under: its SHA-256 in hex, the `_id` of its document and its
    key in the token bucket (`Names.token_bucket`), so neither holds a usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


# The token bucket: a NATS KV bucket the directory writes and the gateways read, key
# `token_key(token)`, value the token's `Principal` as JSON. A token is put there after it is
# stored and taken out before it is deleted, so the bucket never holds a revoked token; one
# missing there (its put failed, or it is older than the bucket) is resolved by the directory.
token_entry_encoder = msgspec.json.Encoder()
token_entry_decoder = msgspec.json.Decoder(Principal)


class Membership(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    group_id: Id
    person_id: Id


# --- events -----------------------------------------------------------------------------


class PersonInvited(msgspec.Struct, kw_only=True, tag="person.invited.v1"):
    """Carries the one-time token for the invitation link.

    Because of the token this event is internal: it is never forwarded to webhooks.
    """

    person_id: str
    invitation_id: str
    email: str
    name: str
    organisation_id: str
    organisation_name: str
    invited_by: str | None
    token: str
    expires_at: datetime


class PersonActivated(msgspec.Struct, kw_only=True, tag="person.activated.v1"):
    person_id: str
    organisation_id: str


class GroupMemberAdded(msgspec.Struct, kw_only=True, tag="group.member_added.v1"):
    group_id: str
    person_id: str
    by: str | None = None  # who added the member (for the audit trail; absent in older events)


class GroupMemberRemoved(msgspec.Struct, kw_only=True, tag="group.member_removed.v1"):
    group_id: str
    person_id: str
    by: str | None = None


EVENT_PERSON_INVITED = "person.invited"
EVENT_PERSON_ACTIVATED = "person.activated"
EVENT_GROUP_MEMBER_ADDED = "group.member_added"
EVENT_GROUP_MEMBER_REMOVED = "group.member_removed"
