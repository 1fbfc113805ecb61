"""Rules for the official municipality register extract (Destatis GV-ISys columns)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from services.contracts.directory import Organisation, OrganisationKind

LAND_ID = "15"
LAND_NAME = "Land Sachsen-Anhalt"

_KINDS: dict[str, OrganisationKind] = {
    "Landkreis": "landkreis",
    "kreisfreie Stadt": "kreisfreie_stadt",
    "Verbandsgemeinde": "verbandsgemeinde",
    "Stadt": "stadt",
    "Gemeinde": "gemeinde",
}
REQUIRED_COLUMNS = ("ags", "name", "kind", "parent_ags", "population")


class RegisterError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    organisation: Organisation


def land() -> Organisation:
    return Organisation(id=LAND_ID, name=LAND_NAME, kind="land", ags=LAND_ID)


def parse(lines: Iterable[str]) -> Iterator[Row]:
    # the project's own seed file carries a few comment lines about its source
    reader = csv.DictReader(line for line in lines if not line.startswith("#"))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RegisterError(f"Spalten fehlen: {', '.join(missing)}")
    for number, raw in enumerate(reader, start=2):
        yield Row(number, _organisation(number, raw))


def _organisation(line: int, raw: dict[str, str]) -> Organisation:
    ags = (raw.get("ags") or "").strip()
    if not ags.isdigit() or len(ags) not in (5, 8, 9):
        raise RegisterError(f"Zeile {line}: ungültiger Schlüssel {ags!r}")
    kind = _KINDS.get((raw.get("kind") or "").strip())
    if kind is None:
        raise RegisterError(f"Zeile {line}: unbekannte Art {raw.get('kind')!r}")
    name = (raw.get("name") or "").strip()
    if not name:
        raise RegisterError(f"Zeile {line}: Name fehlt")
    population_text = (raw.get("population") or "").strip()
    try:
        population = int(population_text) if population_text else None
    except ValueError as exc:
        raise RegisterError(f"Zeile {line}: Einwohnerzahl {population_text!r} ist keine Zahl") from exc
    parent = (raw.get("parent_ags") or "").strip() or None
    return Organisation(id=ags, name=name, kind=kind, ags=ags, parent_id=parent, population=population)
