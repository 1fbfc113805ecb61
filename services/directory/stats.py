"""The directory's figures for the dashboard: participating Kommunen, their share of all
Kommunen and of the Land's inhabitants, members, Ressorts. Pure functions over the stored
organisations and people; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.contracts import directory as d
from services.contracts import stats as st

KREIS_KINDS = ("landkreis", "kreisfreie_stadt")


def kreis_of(org: d.Organisation) -> str | None:
    """The Kreis of a Kommune: the first five digits of its AGS (a Kreis is its own)."""
    if not d.is_kommune(org.kind) or len(org.ags) < 5 or not org.ags[:5].isdigit():
        return None
    return org.ags[:5]


def _reached(orgs: dict[str, d.Organisation], participating: set[str]) -> set[str]:
    """The participating Kommunen whose inhabitants count: those not lying inside another
    participating Kommune (a Landkreis's population already holds its municipalities')."""
    out = set()
    for org_id in participating:
        parent = orgs[org_id].parent_id
        inside = False
        seen = {org_id}
        while parent and parent in orgs and parent not in seen:
            if parent in participating:
                inside = True
                break
            seen.add(parent)
            parent = orgs[parent].parent_id
        if not inside:
            out.add(org_id)
    return out


def _figures(
    kommunen: Sequence[d.Organisation],
    orgs: dict[str, d.Organisation],
    members: dict[str, int],
) -> st.KommunenFigures:
    ids = {o.id for o in kommunen}
    participating = {o.id for o in kommunen if members.get(o.id, 0) > 0}
    top = _reached(orgs, ids)
    return st.KommunenFigures(
        kommunen=len(kommunen),
        participating=len(participating),
        inhabitants=sum(orgs[i].population or 0 for i in top),
        participating_inhabitants=sum(orgs[i].population or 0 for i in _reached(orgs, participating)),
        members=sum(members.get(i, 0) for i in ids),
    )


def directory_figures(
    organisations: Iterable[d.Organisation], person_orgs: Iterable[str], groups: int
) -> st.DirectoryStats:
    """`person_orgs`: the organisation of every active person."""
    orgs = {o.id: o for o in organisations}
    members: dict[str, int] = {}
    for org_id in person_orgs:
        members[org_id] = members.get(org_id, 0) + 1
    kommunen = [o for o in orgs.values() if d.is_kommune(o.kind)]
    kreise = sorted((o for o in kommunen if o.kind in KREIS_KINDS), key=lambda o: o.name)
    by_kreis = {k.id: _figures([o for o in kommunen if kreis_of(o) == k.id], orgs, members) for k in kreise}
    land_staff = sum(
        n for org_id, n in members.items() if org_id in orgs and not d.is_kommune(orgs[org_id].kind)
    )
    return st.DirectoryStats(
        total=_figures(kommunen, orgs, members),
        by_kreis=by_kreis,
        kreise=[st.Kreis(id=k.id, name=k.name, kind=k.kind) for k in kreise],
        ressorts=sum(1 for o in orgs.values() if o.kind == "ressort"),
        land_staff=land_staff,
        groups=groups,
    )
