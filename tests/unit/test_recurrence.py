"""Recurrence expansion against calendars computed independently (with `calendar`)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest

from services.meetings import recurrence as r

HOUR = timedelta(hours=1)


def third_fridays(year: int) -> list[datetime]:
    out = []
    for month in range(1, 13):
        fridays = [
            week[calendar.FRIDAY]
            for week in calendar.monthcalendar(year, month)
            if week[calendar.FRIDAY] != 0
        ]
        out.append(datetime(year, month, fridays[2], 9, 0))
    return out


class TestMonthlyNthWeekday:
    def test_third_friday_of_every_month_in_2026(self) -> None:
        start = r.parse_local("2026-01-16T09:00")
        rule = r.normalise_rule("FREQ=MONTHLY;BYDAY=3FR;UNTIL=20261231", start)
        occurrences = r.Series(start, HOUR, rule).occurrences()
        assert [o.start.replace(tzinfo=None) for o in occurrences] == third_fridays(2026)
        assert all(o.start.hour == 9 and o.start.weekday() == calendar.FRIDAY for o in occurrences)


class TestWeeklyAcrossDst:
    def test_wall_clock_stays_ten_while_the_utc_offset_changes(self) -> None:
        start = r.parse_local("2026-03-16T10:00")  # a Monday before the change on 29 March
        rule = r.normalise_rule("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261110", start)
        occurrences = r.Series(start, HOUR, rule).occurrences()
        assert len(occurrences) == 35
        assert all(o.start.hour == 10 and o.start.minute == 0 for o in occurrences)
        by_day = {o.start.date().isoformat(): o.start for o in occurrences}
        # before 29 March: CET (UTC+1) → 09:00 UTC; after: CEST (UTC+2) → 08:00 UTC
        assert by_day["2026-03-23"].astimezone(UTC).hour == 9
        assert by_day["2026-03-30"].astimezone(UTC).hour == 8
        # the change back on 25 October
        assert by_day["2026-10-19"].astimezone(UTC).hour == 8
        assert by_day["2026-10-26"].astimezone(UTC).hour == 9
        # a week apart on the wall clock is 167 or 169 hours apart in real time across a change
        # (in UTC: Python subtracts datetimes of the same zone on the wall clock)
        utc = {day: moment.astimezone(UTC) for day, moment in by_day.items()}
        assert utc["2026-03-30"] - utc["2026-03-23"] == timedelta(hours=167)
        assert utc["2026-10-26"] - utc["2026-10-19"] == timedelta(hours=169)


class TestYearlyExdateCancellation:
    def test_yearly(self) -> None:
        start = r.parse_local("2026-09-17T10:00")
        rule = r.normalise_rule("FREQ=YEARLY;COUNT=3", start)
        days = [o.start.date().isoformat() for o in r.Series(start, 6 * HOUR, rule).occurrences()]
        assert days == ["2026-09-17", "2027-09-17", "2028-09-17"]

    def test_exdate_leaves_an_occurrence_out_and_cancellation_marks_one(self) -> None:
        start = r.parse_local("2026-01-06T10:00")
        rule = r.normalise_rule("FREQ=WEEKLY;BYDAY=TU;COUNT=4", start)
        series = r.Series(
            start,
            HOUR,
            rule,
            exdates=frozenset({"20260113T1000"}),
            cancelled={"20260120T1000": "Krankheit"},
        )
        occurrences = series.occurrences()
        assert [o.key for o in occurrences] == ["20260106T1000", "20260120T1000", "20260127T1000"]
        assert [o.status for o in occurrences] == ["scheduled", "cancelled", "scheduled"]
        assert occurrences[1].reason == "Krankheit"

    def test_moved_occurrence_keeps_its_key(self) -> None:
        start = r.parse_local("2026-01-06T10:00")
        rule = r.normalise_rule("FREQ=WEEKLY;COUNT=2", start)
        series = r.Series(
            start, HOUR, rule, moved={"20260113T1000": (r.parse_local("2026-01-14T15:00"), HOUR)}
        )
        moved = series.occurrences()[1]
        assert (moved.key, moved.status, moved.start.hour, moved.start.day) == (
            "20260113T1000",
            "moved",
            15,
            14,
        )


class TestRuleChecks:
    @pytest.mark.parametrize(
        ("rule", "field", "fragment"),
        [
            ("FREQ=DAILY;COUNT=3", "rrule", "„DAILY“ wird nicht unterstützt"),
            ("FREQ=WEEKLY", "rrule", "braucht ein Ende"),
            ("FREQ=WEEKLY;UNTIL=20250101", "rrule", "vor dem Beginn"),
            ("FREQ=WEEKLY;UNTIL=20400101", "rrule", "mehr als 5 Jahre"),
            ("FREQ=MONTHLY;BYDAY=XX;COUNT=2", "rrule", "ungültig"),
            ("FREQ=WEEKLY;COUNT=3;UNTIL=20260301", "rrule", "nicht zusammen"),
            ("FREQ=WEEKLY;BYHOUR=3;COUNT=2", "rrule", "„BYHOUR“ wird nicht unterstützt"),
            ("FREQ=WEEKLY;BYDAY=MO;COUNT=3", "start", "Beginn muss selbst ein Termin"),
            ("Jeden Freitag", "rrule", "kein Regelteil"),
        ],
    )
    def test_rejected_with_a_specific_message(self, rule: str, field: str, fragment: str) -> None:
        with pytest.raises(r.RuleError) as caught:
            r.normalise_rule(rule, r.parse_local("2026-01-16T09:00"))
        assert caught.value.field == field
        assert fragment in caught.value.message

    def test_until_is_stored_in_utc(self) -> None:
        rule = r.normalise_rule("rrule:freq=weekly;until=20260301T100000", r.parse_local("2026-01-16T09:00"))
        assert rule == "FREQ=WEEKLY;UNTIL=20260301T090000Z"
