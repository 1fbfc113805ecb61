"""Figures each service reports about its own data, for the dashboard "Zahlen und Fakten".

Every service answers `<service>.stats` with its own figures; the gateway combines them. Per
Landkreis figures are keyed by the Kreis id (the AGS of the Landkreis or kreisfreie Stadt).
The meetings service's figures live in `services.contracts.meetings` (`MeetingStats`).
"""

from __future__ import annotations

import msgspec


class Endpoints:
    DIRECTORY = "directory.stats"
    NEEDS = "needs.stats"
    SURVEYS = "surveys.stats"


class StatsRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """No parameters: a service reports overall and per Kreis at once."""


# --- directory ----------------------------------------------------------------------------


class KommunenFigures(msgspec.Struct, kw_only=True):
    """`kommunen`: all Kommunen; `participating`: those with at least one active member;
    `inhabitants`: of all of them; `participating_inhabitants`: living in a participating
    Kommune (a municipality inside a participating Kreis or Verbandsgemeinde is not counted
    twice); `members`: active people of Kommunen."""

    kommunen: int
    participating: int
    inhabitants: int
    participating_inhabitants: int
    members: int


class Kreis(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: str


class DirectoryStats(msgspec.Struct, kw_only=True):
    total: KommunenFigures
    by_kreis: dict[str, KommunenFigures]
    kreise: list[Kreis]
    ressorts: int
    land_staff: int
    groups: int


# --- needs --------------------------------------------------------------------------------


class NeedFigures(msgspec.Struct, kw_only=True):
    """Needs counted by the Kreis of the reporting Kommune; `by_status` has every status."""

    total: int
    by_status: dict[str, int]


class NeedsStats(msgspec.Struct, kw_only=True):
    total: NeedFigures
    by_kreis: dict[str, NeedFigures]
    pilots: int
    # pilots whose participants have been selected: the trial is under way
    pilots_running: int
    pilots_open: int
    # per Kreis: pilots running with at least one selected Kommune of the Kreis
    pilots_running_by_kreis: dict[str, int] = msgspec.field(default_factory=dict)


# --- surveys ------------------------------------------------------------------------------


class SpotlightFigures(msgspec.Struct, kw_only=True):
    """Spotlights and Quick Wins that left the draft stage (eingereicht or later); per Kreis a
    Spotlight counts once in every Kreis of its supporting Kommunen."""

    total: int
    umgesetzt: int
    by_status: dict[str, int]
    quick_wins: int = 0


class ResponseFigures(msgspec.Struct, kw_only=True):
    """Published surveys; `addressed` and `submitted` summed over them; `rate` = submitted /
    addressed (None without addressees)."""

    surveys: int
    addressed: int
    submitted: int
    rate: float | None


class SurveysStats(msgspec.Struct, kw_only=True):
    topics: int
    topics_by_status: dict[str, int]
    spotlights: SpotlightFigures
    spotlights_by_kreis: dict[str, SpotlightFigures]
    responses: ResponseFigures
    responses_by_kreis: dict[str, ResponseFigures]
    polls: int = 0
