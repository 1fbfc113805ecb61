"""iCalendar feeds (RFC 5545) of meetings. No I/O: the caller passes the stored meetings.

One VEVENT per meeting (with RRULE and EXDATE for a series) plus one overriding VEVENT per
cancelled or moved occurrence (same UID, RECURRENCE-ID of the original start; STATUS:CANCELLED
for a cancellation). Times carry TZID=Europe/Berlin with a compact VTIMEZONE using the EU rules
(last Sunday of March and of October), which every common calendar program understands.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from services.contracts.meetings import TIMEZONE
from services.meetings import recurrence as r

PRODID = "-//GDST Sachsen-Anhalt//Beteiligungsplattform Termine//DE"
UID_DOMAIN = "termine.gdst.example"


def uid(meeting_id: str) -> str:
    """Stable for the life of a meeting, so subscribed calendars update instead of duplicating."""
    return f"{meeting_id}@{UID_DOMAIN}"


def _timezone() -> Timezone:
    tz = Timezone()
    tz.add("tzid", TIMEZONE)
    tz.add("x-lic-location", TIMEZONE)
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("dtstart", datetime(1970, 3, 29, 2, 0, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1SU"})
    summer.add("tzoffsetfrom", timedelta(hours=1))
    summer.add("tzoffsetto", timedelta(hours=2))
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("dtstart", datetime(1970, 10, 25, 3, 0, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1SU"})
    winter.add("tzoffsetfrom", timedelta(hours=2))
    winter.add("tzoffsetto", timedelta(hours=1))
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


def _description(doc: dict[str, Any], link: str, extra: str = "") -> str:
    parts = [extra] if extra else []
    if doc.get("agenda"):
        parts.append(f"Tagesordnung:\n{doc['agenda']}")
    if doc.get("online_url"):
        parts.append(f"Online: {doc['online_url']}")
    parts.append(f"Details und Anmeldung: {link}")
    return "\n\n".join(parts)


def _common(event: Event, doc: dict[str, Any], link: str, stamp: datetime) -> None:
    event.add("uid", uid(doc["_id"]))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("sequence", int(doc.get("sequence", 0)))
    event.add("url", link)
    location = doc.get("location") or doc.get("online_url")
    if location:
        event.add("location", location)


def _local(value: datetime) -> datetime:
    """An aware datetime in Berlin; icalendar writes it as TZID=Europe/Berlin."""
    return value.astimezone(r.BERLIN)


def calendar(name: str, meetings: Iterable[dict[str, Any]], *, public_url: str, now: datetime) -> str:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TIMEZONE)
    cal.add_component(_timezone())
    for doc in meetings:
        for event in events(doc, public_url=public_url, now=now):
            cal.add_component(event)
    text: str = cal.to_ical().decode("utf-8")
    return text


def events(doc: dict[str, Any], *, public_url: str, now: datetime) -> list[Event]:
    series = series_of(doc)
    link = f"{public_url}/termine/{doc['_id']}"
    stamp = doc.get("updated_at") or now
    if isinstance(stamp, datetime) and stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    master = Event()
    _common(master, doc, link, stamp)
    start = r.aware(series.start)
    master.add("summary", doc["title"])
    master.add("dtstart", _local(start))
    master.add("dtend", _local(r.aware(series.start + series.duration)))
    master.add("status", "CANCELLED" if doc.get("cancelled") else "CONFIRMED")
    extra = f"Abgesagt: {doc.get('cancel_reason')}" if doc.get("cancelled") else ""
    master.add("description", _description(doc, link, extra))
    if series.rule:
        master.add("rrule", vRecur.from_ical(series.rule))
        exdates = sorted(series.exdates)
        if exdates:
            master.add("exdate", [_local(r.aware(r.from_key(k))) for k in exdates])
    out = [master]
    for key in sorted(set(series.cancelled) | set(series.moved)):
        if key in series.exdates:
            continue
        original = r.from_key(key)
        override = Event()
        _common(override, doc, link, stamp)
        override.add("recurrence-id", _local(r.aware(original)))
        begin, duration = series.moved.get(key, (original, series.duration))
        override.add("dtstart", _local(r.aware(begin)))
        override.add("dtend", _local(r.aware(begin + duration)))
        if key in series.cancelled:
            override.add("summary", f"Abgesagt: {doc['title']}")
            override.add("status", "CANCELLED")
            override.add("description", _description(doc, link, f"Abgesagt: {series.cancelled[key]}"))
        else:
            override.add("summary", doc["title"])
            override.add("status", "CONFIRMED")
            override.add("description", _description(doc, link, "Dieser Termin wurde verschoben."))
        out.append(override)
    return out


def series_of(doc: dict[str, Any]) -> r.Series:
    """The recurrence view of a stored meeting document."""
    moved = {
        key: (r.parse_local(m["start"]), timedelta(minutes=int(m["duration_minutes"])))
        for key, m in (doc.get("moved") or {}).items()
    }
    return r.Series(
        start=r.parse_local(doc["start"]),
        duration=timedelta(minutes=int(doc["duration_minutes"])),
        rule=doc.get("rrule"),
        exdates=frozenset(doc.get("exdates") or ()),
        cancelled={k: v["reason"] for k, v in (doc.get("cancellations") or {}).items()},
        moved=moved,
    )


__all__ = ["calendar", "events", "series_of", "uid"]
