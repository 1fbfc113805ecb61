"""The extract of the official municipality register in shared/ beside the repository."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

# the official register lies in shared/ beside the repository (README, "import-organisations")
_CANDIDATES = [
    Path(__file__).resolve().parents[3] / "shared" / "data" / "sachsen-anhalt-gebiete.csv",
    Path("/work/shared/data/sachsen-anhalt-gebiete.csv"),
]
REGISTER = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
needs_register = pytest.mark.skipif(not REGISTER.exists(), reason=f"{REGISTER} is missing")


def register_rows() -> list[dict[str, str]]:
    with REGISTER.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))
