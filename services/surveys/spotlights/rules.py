"""Rules of a Spotlight's life: which status may follow which, and who may make each step.
No I/O: the service looks things up and asks these functions.

    entwurf → eingereicht → in_pruefung → umgesetzt
                                        ↘ abgelehnt

AG moderators (Digital-Lotsen, the ministry's AG leads, admins) draft and submit; the ministry
reviews and decides. Staff of a Ressort decide only about Spotlights addressed to their Ressort;
staff of the Land itself (the digital ministry, which runs the network) about every one.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.contracts import spotlights as c
from services.contracts.envelope import ROLE_ADMIN, ROLE_LOTSE, ROLE_MINISTRY, Principal
from services.contracts.polls import SCORE_MAX, BallotInput
from services.runtime.errors import Conflict, Forbidden, Invalid, field

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "entwurf": ("eingereicht",),
    "eingereicht": ("in_pruefung",),
    "in_pruefung": ("umgesetzt", "abgelehnt"),
    "umgesetzt": (),
    "abgelehnt": (),
}
# the steps the AG takes; every other step is the ministry's
AG_STEPS = frozenset({"eingereicht"})
DECISIONS = frozenset({"umgesetzt", "abgelehnt"})
# kinds of the organisation a person belongs to, as far as the rules need them
LAND = "land"
RESSORT = "ressort"


def may_draft(who: Principal) -> bool:
    """Moderators of the AGs: Digital-Lotsen, ministry staff, admins."""
    return who.has_any(ROLE_LOTSE, ROLE_MINISTRY, ROLE_ADMIN)


def may_decide(who: Principal, who_org_kind: str | None, ressort_ids: Sequence[str]) -> bool:
    if who.has_any(ROLE_ADMIN):
        return True
    if not who.has_any(ROLE_MINISTRY):
        return False
    if who_org_kind == RESSORT:
        return who.organisation_id in ressort_ids
    return who_org_kind == LAND


def may_make(who: Principal, who_org_kind: str | None, target: str, ressort_ids: Sequence[str]) -> bool:
    if target in AG_STEPS:
        return may_draft(who)
    return may_decide(who, who_org_kind, ressort_ids)


def next_statuses(
    who: Principal, who_org_kind: str | None, status: str, ressort_ids: Sequence[str]
) -> list[str]:
    """What the caller may move a Spotlight in `status` to now (for the pages)."""
    return [s for s in TRANSITIONS[status] if may_make(who, who_org_kind, s, ressort_ids)]


def check_change(
    who: Principal,
    who_org_kind: str | None,
    old: str,
    new: str,
    ressort_ids: Sequence[str],
    *,
    comment: str,
    answer: str,
) -> None:
    """Raise what is wrong with moving a Spotlight from `old` to `new`: the wrong person
    (403) before the wrong state (409) before missing text (422)."""
    if not may_make(who, who_org_kind, new, ressort_ids):
        if new in AG_STEPS:
            raise Forbidden("Einreichen dürfen die Moderation der AG (Digital-Lotsen) und das Ministerium.")
        raise Forbidden(
            "Prüfen und entscheiden darf nur das Ministerium, bei einem Ressort nur das angesprochene."
        )
    allowed = TRANSITIONS[old]
    if new not in allowed:
        possible = ", ".join(c.STATUS_LABELS[s] for s in allowed) or "keiner mehr"
        raise Conflict(
            f"Ein Spotlight im Status „{c.STATUS_LABELS[old]}“ kann nicht in den Status "
            f"„{c.STATUS_LABELS[new]}“ wechseln.",
            [field("status", f"Möglich ist: {possible}.")],
        )
    errors = []
    if not comment.strip():
        errors.append(field("comment", "Bitte begründen Sie die Änderung in einem Kommentar."))
    if new in DECISIONS and not answer.strip():
        errors.append(field("answer", "Für diese Entscheidung ist die Antwort des Ministeriums nötig."))
    if errors:
        raise Invalid("Angaben fehlen.", errors)


def kreis_of(kind: str, ags: str) -> str | None:
    """The Kreis of a Kommune: the first five digits of its AGS (a Kreis is its own)."""
    if kind in (LAND, RESSORT) or len(ags) < 5 or not ags[:5].isdigit():
        return None
    return ags[:5]


def voted_for(ballot: BallotInput, option_id: str) -> bool:
    """Whether a ballot was cast in favour of an option: chosen, given at least one point,
    scored above the middle of the scale, or ranked first."""
    if ballot.choice is not None:
        return ballot.choice == option_id
    if ballot.choices is not None:
        return option_id in ballot.choices
    if ballot.points is not None:
        return ballot.points.get(option_id, 0) > 0
    if ballot.scores is not None:
        return ballot.scores.get(option_id, 0) * 2 > SCORE_MAX
    if ballot.ranking:
        return ballot.ranking[0] == option_id
    return False
