"""Demo meetings for `make run`: the rhythm of the GDST network. Idempotent (fixed ids).

`python -m services.meetings.seed` writes them straight into the meetings database, like the
directory's `gdst seed-demo`; seeded meetings state no events (nobody is told about demo data).
"""

from __future__ import annotations

import asyncio
import calendar
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.meetings import recurrence as r
from services.runtime import mongo
from services.runtime.settings import Settings

SEEDED_BY = "demo-ministerium"
ONLINE = "https://konferenz.gdst.example/raum/"


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    return days[n - 1]


def demo_meetings(today: date) -> list[dict[str, Any]]:
    year = today.year
    until = f"{year + 1}1231"
    first_tuesday = _nth_weekday(year, 1, calendar.TUESDAY, 1)
    rows: list[dict[str, Any]] = [
        {
            "_id": "demo-lotsen-sprechstunde",
            "title": "Lotsen-Sprechstunde",
            "agenda": "Offene Fragen der Kommunen an die Digital-Lotsen; keine Anmeldung nötig, "
            "Anmeldung hilft bei der Planung.",
            "start": f"{first_tuesday.isoformat()}T10:00",
            "duration_minutes": 60,
            "rrule": f"FREQ=WEEKLY;BYDAY=TU;UNTIL={until}",
            "online_url": ONLINE + "lotsen-sprechstunde",
        },
        {
            "_id": "demo-digitales-fruehstueck",
            "title": "Digitales Frühstück",
            "agenda": "Kurzvortrag einer Kommune, danach Austausch. Jeden dritten Freitag im Monat.",
            "start": f"{_nth_weekday(year, 1, calendar.FRIDAY, 3).isoformat()}T09:00",
            "duration_minutes": 90,
            "rrule": f"FREQ=MONTHLY;BYDAY=3FR;UNTIL={until}",
            "online_url": ONLINE + "digitales-fruehstueck",
            "capacity": 100,
        },
        {
            "_id": "demo-regionaltreffen",
            "title": "Regionaltreffen der Kommunen",
            "agenda": "1. Berichte aus den AGs\n2. Bedarfe der Region\n3. Pilotvorhaben",
            "start": f"{_nth_weekday(year, 3, calendar.WEDNESDAY, 2).isoformat()}T13:00",
            "duration_minutes": 180,
            "rrule": "FREQ=YEARLY;BYMONTH=3,6,10;BYDAY=2WE;COUNT=6",
            "location": "Landesverwaltungsamt, Halle (Saale)",
            "capacity": 40,
        },
        {
            "_id": "demo-netzwerktreffen",
            "title": "Netzwerktreffen „Gemeinsam Digital für Sachsen-Anhalt“",
            "agenda": "Jahrestreffen des Netzwerks: Zahlen und Fakten, Spotlights, Ausblick.",
            "start": f"{year}-09-17T10:00",
            "duration_minutes": 360,
            "rrule": "FREQ=YEARLY;COUNT=3",
            "location": "Magdeburg, Landtag",
            "capacity": 150,
        },
        {
            "_id": "demo-ag-technik",
            "title": "AG Technik: Sitzung mit Punktabfrage",
            "agenda": "Themenauswahl per Punktabfrage (live).",
            "start": f"{_nth_weekday(year, 2, calendar.THURSDAY, 1).isoformat()}T14:00",
            "duration_minutes": 90,
            "rrule": f"FREQ=MONTHLY;BYDAY=1TH;UNTIL={until}",
            "online_url": ONLINE + "ag-technik",
            "group_id": "ag-technik",
            "group_name": "AG Technik",
        },
    ]
    topics = ["Wohngeld", "Kfz-Zulassung", "Gewerbeanmeldung", "Bauantrag", "Elterngeld", "Melderegister"]
    first = today + timedelta(days=(calendar.WEDNESDAY - today.weekday()) % 7 or 7)
    for number, topic in enumerate(topics, start=1):
        day = first + timedelta(weeks=2 * (number - 1))
        rows.append(
            {
                "_id": f"demo-ozg-sprechstunde-{number}",
                "title": f"OZG-Sprechstunde Nr. {number}: {topic}",
                "agenda": f"EfA-Onlinedienst {topic}: Stand, Anbindung, Fragen der Kommunen.",
                "start": f"{day.isoformat()}T11:00",
                "duration_minutes": 60,
                "online_url": ONLINE + f"ozg-{number}",
                "capacity": 50,
            }
        )
    return rows


async def seed(settings: Settings, today: date | None = None) -> int:
    client = mongo.client(settings.mongodb_url)
    created = 0
    try:
        meetings = client[settings.names.database("meetings")]["meetings"]
        now = datetime.now(UTC)
        for row in demo_meetings(today or now.date()):
            if await meetings.find_one({"_id": row["_id"]}, {"_id": 1}) is not None:
                continue
            start = r.parse_local(row["start"])
            rule = r.normalise_rule(row["rrule"], start) if row.get("rrule") else None
            doc = {
                "agenda": "",
                "location": None,
                "online_url": None,
                "group_id": None,
                "group_name": None,
                "capacity": None,
                "poll_id": None,
                **row,
                "rrule": rule,
                "exdates": [],
                "cancelled": False,
                "cancel_reason": None,
                "cancellations": {},
                "moved": {},
                "sequence": 0,
                "created_by": SEEDED_BY,
                "created_at": now,
                "updated_at": now,
                "outbox": [],
            }
            await meetings.insert_one(doc)
            created += 1
    finally:
        await client.close()
    return created


def main() -> int:
    created = asyncio.run(seed(Settings.from_env()))
    print(f"Demo-Termine bereit ({created} neu angelegt).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
