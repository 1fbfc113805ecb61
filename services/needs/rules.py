"""Rules of needs and pilots without I/O: status transitions, sign-up order, ranking, cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.runtime.errors import BadRequest

# neu -> in_pruefung -> in_umsetzung -> geloest; abgelehnt (with a reason) from any open state;
# a rejected need can be taken up again, a solved one reopened for review
TRANSITIONS: dict[str, frozenset[str]] = {
    "neu": frozenset({"in_pruefung", "abgelehnt"}),
    "in_pruefung": frozenset({"neu", "in_umsetzung", "abgelehnt"}),
    "in_umsetzung": frozenset({"in_pruefung", "geloest", "abgelehnt"}),
    "geloest": frozenset({"in_pruefung"}),
    "abgelehnt": frozenset({"in_pruefung"}),
}


def allowed(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def kreis_of(org: dict[str, Any]) -> str | None:
    """The Landkreis (or kreisfreie Stadt) an organisation belongs to."""
    kind = org.get("kind")
    if kind in ("landkreis", "kreisfreie_stadt"):
        return str(org["id"])
    parent = org.get("parent_id")
    return str(parent) if parent and len(str(parent)) == 5 else None


# --- sign-ups ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placed:
    doc: dict[str, Any]
    status: str
    position: int


def place(signups: Sequence[dict[str, Any]], capacity: int, selection: dict[str, Any] | None) -> list[Placed]:
    """Status and position of every sign-up, derived from the sign-up facts alone.

    Active sign-ups are ordered by the time the service accepted them (ties by id, so the order
    is stable); the first `capacity` are confirmed (position = seat number), the others
    waitlisted (position = place on the waiting list). Once the ministry has selected, a sign-up
    is selected or declined. Withdrawn sign-ups keep position 0.
    """
    active = sorted(
        (s for s in signups if not s.get("withdrawn_at")), key=lambda s: (aware(s["signed_up_at"]), s["_id"])
    )
    chosen = set(selection["selected"]) if selection else None
    out: list[Placed] = []
    for index, doc in enumerate(active):
        if chosen is not None:
            status = "selected" if doc["organisation"]["id"] in chosen else "declined"
            out.append(Placed(doc, status, index + 1))
        elif index < capacity:
            out.append(Placed(doc, "confirmed", index + 1))
        else:
            out.append(Placed(doc, "waitlisted", index - capacity + 1))
    withdrawn = sorted((s for s in signups if s.get("withdrawn_at")), key=lambda s: s["_id"])
    out.extend(Placed(doc, "withdrawn", 0) for doc in withdrawn)
    return out


def seats_left(placed: Sequence[Placed], capacity: int) -> int:
    taken = sum(1 for p in placed if p.status in ("confirmed", "selected"))
    return max(0, capacity - taken)


# --- ranking and cursors ---------------------------------------------------------------------


def sort_key(sort: str, count: int, inhabitants: int, created: datetime, need_id: str) -> list[Any]:
    ts = aware(created).timestamp()
    if sort == "recent":
        return [-ts, need_id]
    if sort == "inhabitants":
        return [-inhabitants, -count, -ts, need_id]
    return [-count, -inhabitants, -ts, need_id]


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("Der Cursor ist ungültig.") from exc
    if not isinstance(key, list) or not all(isinstance(v, int | float | str) for v in key):
        raise BadRequest("Der Cursor ist ungültig.")
    return key
