"""Meetings (served by the meetings service): the figures other parts of the platform read.

The rest of this contract (meetings, occurrences, registrations, feeds) grows with the meetings
service itself; the dashboard only needs `MeetingStats`, fixed here first so both can be built
side by side.
"""

from __future__ import annotations

import msgspec

SERVICE = "meetings"


class Endpoints:
    STATS = "meetings.stats"


class StatsRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """No parameters yet; a struct so that filters can be added without a new subject."""


class MeetingStats(msgspec.Struct, kw_only=True):
    """Occurrences counted as held once their end lies in the past and they were not cancelled.

    `held_by_group` maps an AG's id to the number of its held occurrences; meetings without an
    AG (network meetings, Sprechstunden) only count towards `held`.
    """

    held: int
    held_by_group: dict[str, int] = msgspec.field(default_factory=dict)
    upcoming: int = 0
    registrations: int = 0
