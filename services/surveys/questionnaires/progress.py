"""Pure progress of a survey: who was addressed, who submitted, who has a draft, who has
nothing, grouped by Landkreis. The addressees are the list stored when the survey was published,
so the numbers do not move when the directory changes later."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.contracts import surveys as c
from services.runtime.mongo import Document


def org_ref(snap: Mapping[str, Any]) -> c.OrgRef:
    return c.OrgRef(id=snap["id"], name=snap["name"], kind=snap.get("kind", ""), ags=snap.get("ags", ""))


def person_ref(snap: Mapping[str, Any] | None) -> c.PersonRef | None:
    return c.PersonRef(id=snap["id"], name=snap.get("name", "")) if snap else None


def entries(addressed: Sequence[Document], responses: Mapping[str, Document]) -> list[c.ProgressEntry]:
    """One entry per addressee; `responses` are keyed by respondent id (Kommune or person)."""
    out = []
    for a in addressed:
        response = responses.get(a["id"])
        state: c.ResponseState = response["state"] if response else "none"
        out.append(
            c.ProgressEntry(
                organisation=org_ref(a["organisation"]),
                person=person_ref(a.get("person")),
                state=state,
                updated_at=response.get("updated_at") if response else None,
                submitted_at=response.get("submitted_at") if response and state == "submitted" else None,
            )
        )
    return out


def _sort_key(e: c.ProgressEntry) -> tuple[str, str]:
    return (e.organisation.name.casefold(), e.person.name.casefold() if e.person else "")


def progress(
    survey_id: str,
    respond_as: c.RespondAs,
    addressed: Sequence[Document],
    responses: Mapping[str, Document],
    reminders: Sequence[datetime] = (),
) -> c.Progress:
    all_entries = entries(addressed, responses)
    kreise: dict[str | None, tuple[c.OrgRef | None, list[c.ProgressEntry]]] = {}
    for a, entry in zip(addressed, all_entries, strict=True):
        org = a["organisation"]
        key = org.get("kreis")
        if key not in kreise:
            ref = c.OrgRef(id=key, name=org.get("kreis_name") or key, kind="", ags=key) if key else None
            kreise[key] = (ref, [])
        kreise[key][1].append(entry)
    groups = []
    for ref, members in sorted(kreise.values(), key=lambda g: (g[0] is None, g[0].name if g[0] else "")):
        members.sort(key=_sort_key)
        groups.append(_group(ref, members))
    missing = sorted((e for e in all_entries if e.state != "submitted"), key=_sort_key)
    return c.Progress(
        survey_id=survey_id,
        respond_as=respond_as,
        addressed=len(all_entries),
        submitted=sum(1 for e in all_entries if e.state == "submitted"),
        drafts=sum(1 for e in all_entries if e.state == "draft"),
        nothing=sum(1 for e in all_entries if e.state == "none"),
        missing=missing,
        groups=groups,
        reminders=list(reminders),
    )


def _group(ref: c.OrgRef | None, members: list[c.ProgressEntry]) -> c.KreisProgress:
    return c.KreisProgress(
        kreis=ref,
        addressed=len(members),
        submitted=sum(1 for e in members if e.state == "submitted"),
        drafts=sum(1 for e in members if e.state == "draft"),
        nothing=sum(1 for e in members if e.state == "none"),
        entries=members,
    )


def missing_ids(
    addressed: Sequence[Document], responses: Mapping[str, Document]
) -> tuple[list[str], list[str], list[str]]:
    """(organisation ids, person ids, organisation ids with a draft) of those not submitted."""
    orgs: list[str] = []
    people: list[str] = []
    drafts: list[str] = []
    for a in addressed:
        response = responses.get(a["id"])
        if response and response["state"] == "submitted":
            continue
        org_id = a["organisation"]["id"]
        if org_id not in orgs:
            orgs.append(org_id)
        if a.get("person"):
            people.append(a["person"]["id"])
        if response and response["state"] == "draft" and org_id not in drafts:
            drafts.append(org_id)
    return orgs, people, drafts
