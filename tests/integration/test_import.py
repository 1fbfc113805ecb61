"""`gdst import-organisations` against a real FerretDB: idempotent by AGS, all or nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.runtime import mongo
from services.runtime.settings import Settings

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "sachsen-anhalt-gebiete.csv"
GDST = Path(sys.executable).parent / "gdst"


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MONGODB_URL": settings.mongodb_url, "GDST_NAMESPACE": settings.namespace}
    return subprocess.run(
        [str(GDST), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def count(settings: Settings) -> int:
    client = mongo.client(settings.mongodb_url)
    try:
        return await client[settings.names.database("directory")]["organisations"].count_documents({})
    finally:
        await client.close()


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside the checkout")
class TestImportOrganisations:
    async def test_import_twice_changes_nothing_the_second_time(self, settings: Settings) -> None:
        try:
            first = run_cli(settings, "import-organisations", str(SHARED))
            assert first.returncode == 0, first.stderr
            assert "247 Organisationen gelesen, 247 neu oder geändert" in first.stdout
            assert await count(settings) == 248  # plus the Land itself
            second = run_cli(settings, "import-organisations", str(SHARED))
            assert "247 Organisationen gelesen, 0 neu oder geändert" in second.stdout
            assert await count(settings) == 248
        finally:
            client = mongo.client(settings.mongodb_url)
            await client.drop_database(settings.names.database("directory"))
            await client.close()

    async def test_a_bad_row_stops_the_import_before_any_write(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        bad = tmp_path / "bad.csv"
        lines = SHARED.read_text(encoding="utf-8").splitlines()
        bad.write_text(
            "\n".join([*lines[:10], "15099999,Nirgendwo,Weiler,15099,1", *lines[10:]]), encoding="utf-8"
        )
        result = run_cli(settings, "import-organisations", str(bad))
        assert result.returncode != 0 and "Zeile 11" in result.stderr
        assert await count(settings) == 0
