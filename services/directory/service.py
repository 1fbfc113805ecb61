"""Rules of the directory: who may do what, and what a change means. No transport code."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.contracts import directory as c
from services.contracts import privacy as pv
from services.contracts import stats as st
from services.contracts.envelope import ROLE_ADMIN, FieldError, Principal
from services.directory import password_policy
from services.directory.passwords import Passwords
from services.directory.register import land
from services.directory.repository import DirectoryRepository
from services.directory.stats import directory_figures
from services.runtime.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
    field,
)
from services.runtime.events import OutboxHook, ignore_outbox, outbox_entry
from services.runtime.mongo import Document
from services.runtime.privacy import email_hash, name_hash

GROUPS = (
    ("ag-strategie", "AG Strategie"),
    ("ag-organisation", "AG Organisation"),
    ("ag-umsetzung", "AG Umsetzung"),
    ("ag-technik", "AG Technik"),
)

LOGIN_FAILED = "E-Mail-Adresse oder Passwort ist falsch."
TOKEN_PREFIX = "gdst_"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class TokenBucket(Protocol):
    """Where the gateways look tokens up first (services/directory/tokens.py)."""

    async def put(self, key: str, principal: Principal) -> None: ...

    async def remove(self, keys: list[str]) -> None: ...


class _NoTokenBucket:
    """A directory built without NATS: the gateways resolve every token through it."""

    async def put(self, key: str, principal: Principal) -> None:
        return None

    async def remove(self, keys: list[str]) -> None:
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def person_view(doc: Document) -> c.Person:
    return c.Person(
        id=doc["_id"],
        name=doc["name"],
        email=doc["email"],
        roles=list(doc["roles"]),
        organisation_id=doc["organisation_id"],
        active=bool(doc.get("active")),
    )


def check_password(password: str, email: str, name: str) -> None:
    """Refuse a password the policy does not accept, with every reason on the field."""
    found = password_policy.problems(password, email, name)
    if found:
        raise Invalid(
            "Das Passwort erfüllt die Regeln nicht.", [FieldError("password", message) for message in found]
        )


def token_principal(who: Principal) -> Document:
    """What a token stores of its person, so resolving it takes one read instead of two."""
    return {"principal": {"organisation_id": who.organisation_id, "roles": list(who.roles)}}


def principal_of(doc: Document) -> Principal:
    return Principal(person_id=doc["_id"], organisation_id=doc["organisation_id"], roles=tuple(doc["roles"]))


class DirectoryService:
    def __init__(
        self,
        repo: DirectoryRepository,
        passwords: Passwords,
        *,
        invitation_ttl: timedelta = timedelta(days=14),
        login_max_failures: int = 5,
        login_max_failures_per_client: int = 30,
        login_window: timedelta = timedelta(minutes=15),
    ) -> None:
        self.repo = repo
        self.passwords = passwords
        self.invitation_ttl = invitation_ttl
        self.login_max_failures = login_max_failures
        self.login_max_failures_per_client = login_max_failures_per_client
        self.login_window = login_window
        # set by the composition root: publishes a written document's outbox at once
        self.on_outbox: OutboxHook = ignore_outbox
        # set by the composition root: the token bucket the gateways read
        self.token_bucket: TokenBucket = _NoTokenBucket()

    async def ensure_basics(self) -> None:
        await self.repo.upsert_organisation(land())
        for group_id, name in GROUPS:
            await self.repo.ensure_group(group_id, name)

    # organisations -------------------------------------------------------------------

    async def list_organisations(self, req: c.ListOrganisations) -> c.OrganisationPage:
        items = await self.repo.organisations_page(
            kind=req.kind, parent=req.parent, after=req.cursor, limit=req.limit + 1
        )
        more = len(items) > req.limit
        items = items[: req.limit]
        return c.OrganisationPage(items=items, next_cursor=items[-1].id if more else None)

    async def stats(self) -> st.DirectoryStats:
        return directory_figures(
            await self.repo.all_organisations(),
            [p["organisation_id"] for p in await self.repo.active_people()],
            groups=len(GROUPS),
        )

    async def get_organisation(self, org_id: str) -> c.Organisation:
        org = await self.repo.organisation(org_id)
        if org is None:
            raise NotFound(f"Keine Organisation mit der Kennung {org_id}.")
        return org

    async def organisations_by_ids(self, ids: list[str]) -> c.OrganisationList:
        found = await self.repo.organisations_by_ids(sorted(set(ids)))
        return c.OrganisationList(items=[found[i] for i in sorted(found)])

    # people and invitations -------------------------------------------------------------

    async def _check_new_person(
        self, caller: Principal, organisation_id: str, roles: list[str]
    ) -> c.Organisation:
        if not caller.is_ministry:
            raise Forbidden("Nur das Ministerium kann Personen einladen.")
        if ROLE_ADMIN in roles and ROLE_ADMIN not in caller.roles:
            raise Forbidden("Nur Administratorinnen und Administratoren vergeben diese Rolle.")
        org = await self.repo.organisation(organisation_id)
        if org is None:
            raise Invalid(
                "Die Organisation ist unbekannt.",
                [field("organisation_id", "Keine Organisation mit dieser Kennung.")],
            )
        if "ministry" in roles and org.kind not in c.LAND_KINDS:
            raise Invalid(
                "Die Rolle passt nicht zur Organisation.",
                [field("roles", "Die Rolle „ministry“ gibt es nur für Landesbeschäftigte.")],
            )
        if "member" in roles and org.kind in c.LAND_KINDS:
            raise Invalid(
                "Die Rolle passt nicht zur Organisation.",
                [field("roles", "Die Rolle „member“ gibt es nur für Beschäftigte einer Kommune.")],
            )
        return org

    async def _new_person(
        self, email: str, name: str, org_id: str, roles: list[str], password_hash: str | None
    ) -> tuple[Document, bool]:
        """Create the person or return the inactive one already holding the email.

        The email claim is written first; a crash before the person document leaves a
        claim without a person, which the next attempt simply takes over.
        """
        new_id = uuid.uuid4().hex
        holder = await self.repo.claim_email(email, new_id)
        existing = await self.repo.person(holder)
        if existing is not None:
            if existing.get("active") or password_hash is not None:
                raise Conflict(
                    "Diese E-Mail-Adresse ist bereits registriert.",
                    [field("email", "Diese E-Mail-Adresse ist bereits registriert.")],
                )
            return existing, False
        doc: Document = {
            "_id": holder,
            "name": name,
            "email": email,
            "organisation_id": org_id,
            "roles": sorted(set(roles)),
            "password_hash": password_hash,
            "active": password_hash is not None,
            "created_at": _now(),
            "outbox": [],
        }
        await self.repo.insert_person(doc)
        return doc, True

    async def create_person(self, caller: Principal, req: c.CreatePerson) -> c.Person:
        if req.password is None:
            invitation = await self.invite(
                caller,
                c.CreateInvitation(
                    email=req.email,
                    name=req.name,
                    organisation_id=req.organisation_id,
                    roles=req.roles,
                ),
            )
            doc = await self.repo.person(invitation.person_id)
            assert doc is not None
            return person_view(doc)
        await self._check_new_person(caller, req.organisation_id, list(req.roles))
        check_password(req.password, req.email, req.name)
        password_hash = await self.passwords.hash(req.password)
        doc, _ = await self._new_person(
            normalise_email(req.email),
            req.name.strip(),
            req.organisation_id,
            list(req.roles),
            password_hash,
        )
        return person_view(doc)

    async def invite(self, caller: Principal, req: c.CreateInvitation) -> c.Invitation:
        org = await self._check_new_person(caller, req.organisation_id, list(req.roles))
        email = normalise_email(req.email)
        person, _ = await self._new_person(
            email, req.name.strip(), req.organisation_id, list(req.roles), None
        )
        token = secrets.token_urlsafe(32)
        now = _now()
        expires = now + self.invitation_ttl
        invitation_id = uuid.uuid4().hex
        event = outbox_entry(
            c.EVENT_PERSON_INVITED,
            c.PersonInvited(
                person_id=person["_id"],
                invitation_id=invitation_id,
                email=person["email"],
                name=person["name"],
                organisation_id=person["organisation_id"],
                organisation_name=org.name,
                invited_by=caller.person_id,
                token=token,
                expires_at=expires,
            ),
            subject=f"people/{person['_id']}",
        )
        doc: Document = {
            "_id": token_hash(token),
            "invitation_id": invitation_id,
            "person_id": person["_id"],
            "invited_by": caller.person_id,
            "created_at": now,
            "expires_at": expires,
            "used_at": None,
            "outbox": [event],
        }
        await self.repo.insert_invitation(doc)
        self.on_outbox(self.repo.invitations, doc["_id"], [event])
        return c.Invitation(
            id=invitation_id,
            person_id=person["_id"],
            email=person["email"],
            name=person["name"],
            organisation_id=person["organisation_id"],
            roles=list(person["roles"]),
            expires_at=expires,
        )

    async def _open_invitation(self, token: str) -> tuple[Document, Document]:
        invitation = await self.repo.invitation(token_hash(token))
        if invitation is None:
            raise NotFound("Diese Einladung gibt es nicht.")
        if invitation.get("used_at") is not None:
            raise Conflict("Diese Einladung wurde bereits angenommen.")
        if _aware(invitation["expires_at"]) < _now():
            raise Conflict("Diese Einladung ist abgelaufen. Bitte lassen Sie sich neu einladen.")
        person = await self.repo.person(invitation["person_id"])
        if person is None:
            raise NotFound("Diese Einladung gibt es nicht.")
        return invitation, person

    async def peek_invitation(self, token: str) -> c.InvitationPreview:
        invitation, person = await self._open_invitation(token)
        org = await self.repo.organisation(person["organisation_id"])
        return c.InvitationPreview(
            name=person["name"],
            email=person["email"],
            organisation_name=org.name if org else "",
            expires_at=_aware(invitation["expires_at"]),
        )

    async def accept_invitation(self, req: c.AcceptInvitation) -> c.Person:
        invitation, person = await self._open_invitation(req.token)
        check_password(req.password, person["email"], person["name"])
        password_hash = await self.passwords.hash(req.password)
        event = outbox_entry(
            c.EVENT_PERSON_ACTIVATED,
            c.PersonActivated(person_id=person["_id"], organisation_id=person["organisation_id"]),
            subject=f"people/{person['_id']}",
        )
        # password first: if the invitation is not marked used because of a crash, accepting
        # it again only sets the password once more
        await self.repo.set_password(person["_id"], password_hash, [event])
        await self.repo.mark_invitation_used(invitation["_id"], _now())
        self.on_outbox(self.repo.people, person["_id"], [event])
        person.update(password_hash=password_hash, active=True)
        return person_view(person)

    # login ----------------------------------------------------------------------------

    def _throttle(self, failures: Document | None, limit: int, now: datetime, message: str) -> None:
        if failures is None:
            return
        first = _aware(failures["first_at"])
        if first >= now - self.login_window and failures["count"] >= limit:
            wait = int((first + self.login_window - now).total_seconds()) + 1
            minutes = max(1, -(-wait // 60))
            raise TooManyRequests(
                f"{message} Bitte warten Sie {minutes} {'Minute' if minutes == 1 else 'Minuten'} "
                "und versuchen Sie es dann erneut.",
                retry_after=wait,
            )

    async def authenticate(self, req: c.Authenticate) -> c.Authenticated:
        email = normalise_email(req.email)
        now = _now()
        # one account (lockout against guessing its password) and one client address
        # (against trying a few passwords on many accounts); the client's counter is not reset
        # by a success, or one valid login would let it go on
        client_key = f"client:{req.client}" if req.client else None
        client_failures = await self.repo.login_failures_for(client_key) if client_key else None
        self._throttle(
            client_failures,
            self.login_max_failures_per_client,
            now,
            "Zu viele fehlgeschlagene Anmeldeversuche von diesem Anschluss.",
        )
        failures = await self.repo.login_failures_for(email)
        self._throttle(
            failures,
            self.login_max_failures,
            now,
            "Zu viele fehlgeschlagene Anmeldeversuche für dieses Konto; es ist vorübergehend gesperrt.",
        )
        person_id = await self.repo.person_id_for_email(email)
        person = await self.repo.person(person_id) if person_id else None
        stored = person.get("password_hash") if person and person.get("active") else None
        if not await self.passwords.verify(stored, req.password) or person is None:
            await self.repo.record_login_failure(email, now, now - self.login_window)
            if client_key:
                await self.repo.record_login_failure(client_key, now, now - self.login_window)
            raise Unauthorized(LOGIN_FAILED)
        if failures is not None:
            await self.repo.clear_login_failures(email)
        return c.Authenticated(principal=principal_of(person), person=person_view(person))

    async def me(self, caller: Principal) -> c.Me:
        person = await self.repo.person(caller.person_id)
        if person is None or not person.get("active"):
            raise Unauthorized("Dieses Konto gibt es nicht mehr.")
        org = await self.get_organisation(person["organisation_id"])
        group_ids = await self.repo.groups_of(person["_id"])
        groups = {g["_id"]: g["name"] for g in await self.repo.groups_all()}
        return c.Me(
            id=person["_id"],
            name=person["name"],
            email=person["email"],
            roles=list(person["roles"]),
            organisation=c.OrganisationRef(id=org.id, name=org.name, kind=org.kind, ags=org.ags),
            groups=[c.GroupRef(id=g, name=groups.get(g, g)) for g in group_ids],
        )

    # API tokens -----------------------------------------------------------------------

    async def create_token(self, caller: Principal, req: c.CreateToken) -> c.CreatedToken:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = uuid.uuid4().hex
        key = c.token_key(token)
        await self.repo.insert_token(
            {
                "_id": key,
                "token_id": token_id,
                "person_id": caller.person_id,
                "name": req.name.strip(),
                "created_at": _now(),
                **token_principal(caller),
            }
        )
        # a token's principal never changes (see resolve_token), so the bucket's copy holds
        await self.token_bucket.put(key, caller)
        return c.CreatedToken(id=token_id, name=req.name.strip(), token=token)

    async def delete_token(self, caller: Principal, token_id: str) -> None:
        key = await self.repo.token_key_of(token_id, caller.person_id)
        if key is None:
            raise NotFound("Kein solcher Zugangsschlüssel.")
        # out of the bucket first: if this fails, the token stays whole and the caller retries
        await self.token_bucket.remove([key])
        if not await self.repo.delete_token(token_id, caller.person_id):
            raise NotFound("Kein solcher Zugangsschlüssel.")

    async def resolve_token(self, token: str) -> Principal:
        """One read for a token made since tokens carry their principal (`token_principal`);
        older tokens read the person as well. A person's tokens are deleted with the login
        (`mark_deleted`), and roles never change, so the copy cannot be outdated."""
        doc = await self.repo.token(c.token_key(token)) if token.startswith(TOKEN_PREFIX) else None
        if doc is not None and isinstance(doc.get("principal"), dict):
            snap = doc["principal"]
            return Principal(
                person_id=doc["person_id"],
                organisation_id=snap["organisation_id"],
                roles=tuple(snap["roles"]),
            )
        person = await self.repo.person(doc["person_id"]) if doc else None
        if person is None or not person.get("active"):
            raise Unauthorized("Der Zugangsschlüssel ist ungültig.")
        return principal_of(person)

    # groups ---------------------------------------------------------------------------

    async def list_groups(self) -> c.GroupPage:
        counts = await self.repo.member_counts()
        return c.GroupPage(
            items=[
                c.Group(id=g["_id"], name=g["name"], member_count=counts.get(g["_id"], 0))
                for g in await self.repo.groups_all()
            ]
        )

    async def group_members(self, caller: Principal, group_id: str) -> c.MemberList:
        """Who belongs to an AG. Any signed-in person may see the members of an AG."""
        if await self.repo.group(group_id) is None:
            raise NotFound("Diese AG gibt es nicht.")
        people = await self.repo.people_by_ids(await self.repo.members_of(group_id))
        return c.MemberList(
            items=[
                c.Member(
                    person_id=p["_id"],
                    name=p["name"],
                    organisation_id=p["organisation_id"],
                    roles=list(p["roles"]),
                )
                for p in people
                if p.get("active")
            ]
        )

    async def people_of_organisations(
        self, caller: Principal, req: c.GetPeopleOfOrganisations
    ) -> c.PeopleList:
        """The people of some organisations, with their email addresses: for the ministry and for
        services addressing them (surveys, notifications), never for Kommune members."""
        if not caller.has_any("ministry", "admin", "lotse", "service"):
            raise Forbidden("Nur das Ministerium sieht die Beschäftigten anderer Organisationen.")
        people = await self.repo.people_of_organisations(sorted(set(req.organisation_ids)))
        return c.PeopleList(items=[person_view(p) for p in people if p.get("active") or not req.active_only])

    async def people_by_ids(self, caller: Principal, ids: list[str]) -> c.PeopleList:
        """People with their email addresses, for the ministry and services only."""
        if not caller.has_any("ministry", "admin", "service"):
            raise Forbidden("Nur das Ministerium sieht die Angaben anderer Personen.")
        return c.PeopleList(items=[person_view(p) for p in await self.repo.people_by_ids(sorted(set(ids)))])

    async def _check_membership(self, caller: Principal, req: c.Membership) -> None:
        if not caller.has_any("ministry", "lotse", "admin"):
            raise Forbidden("Nur Ministerium und Digital-Lotsen verwalten AG-Mitgliedschaften.")
        if await self.repo.group(req.group_id) is None:
            raise NotFound("Diese AG gibt es nicht.")
        if await self.repo.person(req.person_id) is None:
            raise NotFound("Diese Person gibt es nicht.")

    async def add_member(self, caller: Principal, req: c.Membership) -> None:
        await self._check_membership(caller, req)
        event = outbox_entry(
            c.EVENT_GROUP_MEMBER_ADDED,
            c.GroupMemberAdded(group_id=req.group_id, person_id=req.person_id, by=caller.person_id),
            subject=f"groups/{req.group_id}",
        )
        if await self.repo.add_membership(req.group_id, req.person_id, [event]):
            self.on_outbox(self.repo.memberships, f"{req.group_id}:{req.person_id}", [event])

    async def remove_member(self, caller: Principal, req: c.Membership) -> None:
        await self._check_membership(caller, req)
        if req.group_id not in await self.repo.groups_of(req.person_id):
            return
        event = outbox_entry(
            c.EVENT_GROUP_MEMBER_REMOVED,
            c.GroupMemberRemoved(group_id=req.group_id, person_id=req.person_id, by=caller.person_id),
            subject=f"groups/{req.group_id}",
        )
        # the event's home is written before the membership goes, so a crash in between
        # leaves a removal that a retry completes, never a silent one
        await self.repo.mark_membership_removed(req.group_id, req.person_id, [event])
        await self.repo.remove_membership(req.group_id, req.person_id)
        self.on_outbox(
            self.repo.memberships_removed, f"{req.group_id}:{req.person_id}:{event['id']}", [event]
        )

    # deletion (DSGVO Art. 17) ------------------------------------------------------------

    async def request_deletion(self, caller: Principal, req: pv.DeletionRequest) -> pv.DeletionAccepted:
        """Ends the person's login at once and states `person.deleted`; every service (this one
        too, through its privacy consumer) then erases what it holds. Asking again states nothing
        new."""
        if caller.person_id != req.person_id and ROLE_ADMIN not in caller.roles:
            raise Forbidden("Andere Personen löschen nur Administratorinnen und Administratoren.")
        person = await self.repo.person(req.person_id)
        if person is None:
            raise NotFound("Diese Person gibt es nicht (mehr).")
        if person.get("deleted"):
            return pv.DeletionAccepted(person_id=req.person_id, pseudonym=person["pseudonym"], new=False)
        pseudonym = "geloescht-" + uuid.uuid4().hex[:16]
        event = outbox_entry(
            pv.EVENT_PERSON_DELETED,
            pv.PersonDeleted(
                person_id=person["_id"],
                organisation_id=person["organisation_id"],
                pseudonym=pseudonym,
                email_sha256=email_hash(person["email"]),
                name_sha256=name_hash(person["name"]),
                deleted_by=caller.person_id,
                self_service=caller.person_id == person["_id"],
            ),
            subject=f"people/{pseudonym}",
        )
        changes: Document = {
            "deleted": True,
            "active": False,
            "password_hash": None,
            "pseudonym": pseudonym,
            "deleted_at": _now(),
        }
        # the tokens leave the bucket first: a failure here leaves the person untouched
        await self.token_bucket.remove(await self.repo.token_keys_of(person["_id"]))
        await self.repo.mark_deleted(person["_id"], changes, [event])
        self.on_outbox(self.repo.people, person["_id"], [event])
        return pv.DeletionAccepted(person_id=req.person_id, pseudonym=pseudonym, new=True)
