from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.directory import register
from services.directory.seed import demo_organisations

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "sachsen-anhalt-gebiete.csv"


class TestRegister:
    @pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside the checkout")
    def test_reads_the_official_extract(self) -> None:
        with SHARED.open(encoding="utf-8") as handle:
            orgs = [row.organisation for row in register.parse(handle)]
        kinds = Counter(o.kind for o in orgs)
        assert kinds == {
            "landkreis": 11,
            "kreisfreie_stadt": 3,
            "verbandsgemeinde": 18,
            "stadt": 101,
            "gemeinde": 114,
        }
        municipal = [o for o in orgs if o.kind in ("kreisfreie_stadt", "stadt", "gemeinde")]
        assert sum(o.population or 0 for o in municipal) == 2_180_448
        halle = next(o for o in orgs if o.ags == "15002")
        assert (halle.name, halle.parent_id, halle.population) == ("Halle (Saale), Stadt", "15", 242172)

    def test_demo_seed_has_every_kreis(self) -> None:
        orgs = demo_organisations()
        assert len([o for o in orgs if o.kind == "landkreis"]) == 11
        assert len([o for o in orgs if o.kind == "kreisfreie_stadt"]) == 3
        assert all(o.population for o in orgs)

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ("12,Kurz,Stadt,15,1", "ungültiger Schlüssel"),
            ("15001999,Irgendwo,Weiler,15001,1", "unbekannte Art"),
            ("15001999,,Stadt,15001,1", "Name fehlt"),
            ("15001999,Irgendwo,Stadt,15001,viele", "keine Zahl"),
        ],
    )
    def test_rejects_bad_rows_with_line_number(self, line: str, message: str) -> None:
        with pytest.raises(register.RegisterError, match=message) as info:
            list(register.parse(["ags,name,kind,parent_ags,population", line]))
        assert "Zeile 2" in str(info.value)

    def test_rejects_missing_columns(self) -> None:
        with pytest.raises(register.RegisterError, match="population"):
            list(register.parse(["ags,name,kind,parent_ags", "15001,X,Stadt,15"]))
