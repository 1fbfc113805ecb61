"""Demo data: the Land, its Kreise, a few Kommunen, the AGs and demo logins. Idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

from services.contracts.directory import Organisation
from services.directory import register
from services.directory.passwords import Passwords
from services.directory.repository import DirectoryRepository
from services.directory.service import GROUPS, DirectoryService

DEMO_PASSWORD = "gdst-demo"  # fixed by the public contract (api.md, "Demo data")
MINISTRY_EMAIL = "ministerium@gdst.example"


# The Land's ministries (cabinet since 2021), children of the Land, so that Spotlights can be
# addressed to them and the dashboard can count them. Ids are short forms, not AGS: a Ressort
# has no municipality key.
RESSORTS = (
    ("ressort-stk", "Staatskanzlei und Ministerium für Kultur"),
    ("ressort-mi", "Ministerium für Inneres und Sport"),
    ("ressort-mf", "Ministerium der Finanzen"),
    ("ressort-mj", "Ministerium für Justiz und Verbraucherschutz"),
    ("ressort-mb", "Ministerium für Bildung"),
    ("ressort-mwl", "Ministerium für Wirtschaft, Tourismus, Landwirtschaft und Forsten"),
    ("ressort-ms", "Ministerium für Arbeit, Soziales, Gesundheit und Gleichstellung"),
    ("ressort-mwu", "Ministerium für Wissenschaft, Energie, Klimaschutz und Umwelt"),
    ("ressort-mid", "Ministerium für Infrastruktur und Digitales"),
)


def ressorts() -> list[Organisation]:
    return [
        Organisation(id=rid, name=name, kind="ressort", ags="", parent_id=register.LAND_ID)
        for rid, name in RESSORTS
    ]


def demo_organisations() -> list[Organisation]:
    text = resources.files("services.directory").joinpath("demo_organisations.csv").read_text("utf-8")
    return [row.organisation for row in register.parse(text.splitlines())]


def member_email(ags: str) -> str:
    return f"kommune-{ags}@gdst.example"


async def seed(repo: DirectoryRepository, svc: DirectoryService, passwords: Passwords) -> int:
    """Returns how many people were created (0 on a second run)."""
    await svc.ensure_basics()
    orgs = demo_organisations()
    for org in [*orgs, *ressorts()]:
        await repo.upsert_organisation(org)
    people = [("demo-ministerium", MINISTRY_EMAIL, "Maria Ministerium", register.LAND_ID, ["ministry"])]
    people += [
        (f"demo-{o.ags}", member_email(o.ags), f"Team {o.name.split(',')[0]}", o.id, ["member"]) for o in orgs
    ]
    password_hash: str | None = None
    created = 0
    for index, (person_id, email, name, org_id, roles) in enumerate(people):
        if await repo.person_id_for_email(email) is not None:
            continue
        password_hash = password_hash or await passwords.hash(DEMO_PASSWORD)
        await repo.claim_email(email, person_id)
        await repo.insert_person(
            {
                "_id": person_id,
                "name": name,
                "email": email,
                "organisation_id": org_id,
                "roles": roles,
                "password_hash": password_hash,
                "active": True,
                "created_at": datetime.now(UTC),
                "outbox": [],
            }
        )
        # spread the demo Kommunen over the AGs so every start page shows some
        if index > 0:
            for group_id, _ in (GROUPS[index % 4], GROUPS[(index + 1) % 4]):
                await repo.add_membership(group_id, person_id, [])
        created += 1
    return created
