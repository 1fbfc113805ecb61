"""Recurrence rules (a subset of RFC 5545 RRULE) expanded in Europe/Berlin wall-clock time.

No I/O. A meeting's start is stored as local wall-clock time without offset; occurrences are
generated in wall-clock time and only then given the offset valid on their day, so a weekly
10:00 meeting stays at 10:00 across the changes to and from summer time.

An occurrence is identified by its *original* local start in compact form ("20260116T0900"),
the value of RECURRENCE-ID; it stays its key when the occurrence is moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from services.contracts.meetings import HORIZON_YEARS, MAX_OCCURRENCES

BERLIN = ZoneInfo("Europe/Berlin")
SUPPORTED_FREQ = ("WEEKLY", "MONTHLY", "YEARLY")
ALLOWED_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")


class RuleError(ValueError):
    """A rule that cannot be accepted; `field` names the form field, `message` is German."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_local(text: str) -> datetime:
    """ "2026-01-16T09:00" → naive wall-clock datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M")


def format_local(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def key_of(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M")


def from_key(key: str) -> datetime:
    return datetime.strptime(key, "%Y%m%dT%H%M")


def aware(local: datetime) -> datetime:
    """Wall-clock time in Berlin with the offset of that moment."""
    return local.replace(tzinfo=BERLIN)


def horizon(start: datetime) -> datetime:
    # leap days included, so "five years" from a 29 February needs no special case
    return start + timedelta(days=366 * HORIZON_YEARS)


def _parse_until(value: str) -> datetime:
    """UNTIL as a date (the end of that local day), local time, or UTC ("…Z"); returned in UTC."""
    m = _UNTIL.match(value)
    if not m:
        raise RuleError("rrule", "UNTIL muss die Form JJJJMMTT oder JJJJMMTTThhmmssZ haben.")
    try:
        day = datetime.strptime(m.group(1), "%Y%m%d")
        if m.group(2) is None:
            local = day.replace(hour=23, minute=59, second=59)
            return aware(local).astimezone(UTC)
        moment = datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise RuleError("rrule", "UNTIL ist kein gültiges Datum.") from exc
    if m.group(3):
        return moment.replace(tzinfo=UTC)
    return aware(moment).astimezone(UTC)


def normalise_rule(text: str, start: datetime) -> str:
    """Check a rule against the supported subset and the start; return it in canonical form
    (upper case, UNTIL in UTC as RFC 5545 requires with a DTSTART in a time zone).

    Raises `RuleError` with a German message naming what is wrong.
    """
    raw = text.strip()
    if raw.upper().startswith("RRULE:"):
        raw = raw[6:]
    if not raw:
        raise RuleError("rrule", "Die Wiederholungsregel ist leer.")
    parts: dict[str, str] = {}
    for piece in raw.upper().split(";"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise RuleError("rrule", f"„{piece}“ ist kein Regelteil der Form NAME=WERT.")
        if name not in ALLOWED_PARTS:
            raise RuleError("rrule", f"Der Regelteil „{name}“ wird nicht unterstützt.")
        if name in parts:
            raise RuleError("rrule", f"Der Regelteil „{name}“ kommt doppelt vor.")
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise RuleError("rrule", "FREQ fehlt (WEEKLY, MONTHLY oder YEARLY).")
    if freq not in SUPPORTED_FREQ:
        raise RuleError(
            "rrule",
            f"Die Wiederholung „{freq}“ wird nicht unterstützt; möglich sind wöchentlich (WEEKLY), "
            "monatlich (MONTHLY) und jährlich (YEARLY).",
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("rrule", "COUNT und UNTIL dürfen nicht zusammen vorkommen.")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise RuleError(
            "rrule",
            f"Die Regel braucht ein Ende: COUNT=… oder UNTIL=… (höchstens {HORIZON_YEARS} Jahre nach dem Beginn).",
        )
    if "COUNT" in parts:
        if not parts["COUNT"].isdigit() or not 1 <= int(parts["COUNT"]) <= MAX_OCCURRENCES:
            raise RuleError("rrule", f"COUNT muss eine Zahl von 1 bis {MAX_OCCURRENCES} sein.")
    if "INTERVAL" in parts and (not parts["INTERVAL"].isdigit() or not 1 <= int(parts["INTERVAL"]) <= 99):
        raise RuleError("rrule", "INTERVAL muss eine Zahl von 1 bis 99 sein.")
    if "UNTIL" in parts:
        until = _parse_until(parts["UNTIL"])
        if until < aware(start):
            raise RuleError("rrule", "Das Ende der Wiederholung (UNTIL) liegt vor dem Beginn.")
        if until > aware(horizon(start)):
            raise RuleError(
                "rrule", f"Das Ende der Wiederholung liegt mehr als {HORIZON_YEARS} Jahre nach dem Beginn."
            )
        parts["UNTIL"] = until.strftime("%Y%m%dT%H%M%SZ")
    canonical = ";".join(f"{k}={v}" for k, v in parts.items())
    rule = _compile(canonical, start)
    found: list[datetime] = []
    for moment in rule:
        found.append(moment)
        if len(found) > MAX_OCCURRENCES:
            raise RuleError("rrule", f"Die Regel ergibt mehr als {MAX_OCCURRENCES} Termine.")
    if not found:
        raise RuleError("rrule", "Die Regel ergibt keinen einzigen Termin.")
    if found[-1].replace(tzinfo=None) > horizon(start):
        raise RuleError("rrule", f"Der letzte Termin liegt mehr als {HORIZON_YEARS} Jahre nach dem Beginn.")
    first = found[0].replace(tzinfo=None)
    if first != start:
        raise RuleError(
            "start",
            "Der Beginn muss selbst ein Termin der Regel sein; der erste Termin wäre am "
            f"{first.strftime('%d.%m.%Y um %H:%M')} Uhr.",
        )
    return canonical


def _compile(canonical: str, start: datetime) -> rrule:
    try:
        rule = rrulestr(canonical, dtstart=aware(start))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RuleError("rrule", "Die Wiederholungsregel ist nach RFC 5545 ungültig.") from exc
    assert isinstance(rule, rrule)
    return rule


def starts(start: datetime, rule: str | None) -> list[datetime]:
    """Every original local start of a series (a stored rule is already checked and bounded)."""
    if rule is None:
        return [start]
    return [moment.replace(tzinfo=None) for moment in _compile(rule, start)]


@dataclass(frozen=True, slots=True)
class Occ:
    key: str
    start: datetime  # aware
    end: datetime  # aware
    status: str = "scheduled"  # scheduled | cancelled | moved
    reason: str | None = None
    original: datetime | None = None  # aware; the original start of a moved occurrence


@dataclass(frozen=True, slots=True)
class Series:
    start: datetime  # naive local
    duration: timedelta
    rule: str | None = None
    exdates: frozenset[str] = frozenset()  # keys
    cancelled: dict[str, str] = field(default_factory=dict)  # key → reason
    moved: dict[str, tuple[datetime, timedelta]] = field(
        default_factory=dict
    )  # key → (naive start, duration)

    def occurrences(self, after: datetime | None = None, before: datetime | None = None) -> list[Occ]:
        """Occurrences (EXDATEs left out; cancelled and moved ones marked) whose end lies after
        `after` and whose start lies before `before` (both aware), in order of start."""
        out: list[Occ] = []
        for local in starts(self.start, self.rule):
            key = key_of(local)
            if key in self.exdates:
                continue
            if key in self.moved:
                new_start, duration = self.moved[key]
                occ = Occ(key, aware(new_start), aware(new_start + duration), "moved", original=aware(local))
            else:
                occ = Occ(key, aware(local), aware(local + self.duration))
            if key in self.cancelled:
                occ = Occ(key, occ.start, occ.end, "cancelled", self.cancelled[key], occ.original)
            if after is not None and occ.end <= after:
                continue
            if before is not None and occ.start >= before:
                continue
            out.append(occ)
        out.sort(key=lambda o: (o.start, o.key))
        return out

    def has(self, key: str) -> bool:
        return key not in self.exdates and key in {key_of(s) for s in starts(self.start, self.rule)}
