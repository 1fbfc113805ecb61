"""The needs service's figures for the dashboard: needs by status (overall and per Kreis of the
reporting Kommune) and pilots. Pure functions over the stored documents; no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.contracts import needs as c
from services.contracts import stats as st
from services.needs import rules
from services.runtime.mongo import Document

STATUSES: tuple[str, ...] = tuple(c.STATUS_LABELS)


def _empty() -> st.NeedFigures:
    return st.NeedFigures(total=0, by_status={s: 0 for s in STATUSES})


def _add(figures: st.NeedFigures, status: str) -> None:
    figures.total += 1
    figures.by_status[status] = figures.by_status.get(status, 0) + 1


def needs_figures(
    needs: Iterable[Document], pilots: Iterable[Document], signups: Iterable[Document], now: datetime
) -> st.NeedsStats:
    """A pilot runs once its participants are selected; it is open while sign-up is possible.
    Per Kreis, a running pilot counts where one of its selected Kommunen lies."""
    total = _empty()
    by_kreis: dict[str, st.NeedFigures] = {}
    for need in needs:
        _add(total, need["status"])
        kreis = (need.get("organisation") or {}).get("kreis")
        if kreis:
            _add(by_kreis.setdefault(kreis, _empty()), need["status"])
    kreis_of_signup = {
        (s["pilot_id"], s["organisation"]["id"]): s["organisation"].get("kreis") for s in signups
    }
    count = running = open_ = 0
    running_by_kreis: dict[str, int] = {}
    for pilot in pilots:
        count += 1
        selection = pilot.get("selection")
        if selection is not None:
            running += 1
            kreise = {kreis_of_signup.get((pilot["_id"], org)) for org in selection.get("selected") or []}
            for kreis in kreise - {None}:
                assert kreis is not None
                running_by_kreis[kreis] = running_by_kreis.get(kreis, 0) + 1
        elif rules.aware(pilot["signup_closes_at"]) > now:
            open_ += 1
    return st.NeedsStats(
        total=total,
        by_kreis=by_kreis,
        pilots=count,
        pilots_running=running,
        pilots_open=open_,
        pilots_running_by_kreis=running_by_kreis,
    )
