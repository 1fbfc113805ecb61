"""`gdst` command line: import the municipality register, seed demo data."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.directory import register
from services.directory.app import build_service
from services.directory.passwords import Passwords
from services.directory.repository import DirectoryRepository
from services.directory.seed import seed
from services.runtime import mongo
from services.runtime.settings import Settings


async def import_organisations(settings: Settings, path: Path) -> tuple[int, int]:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            rows = list(register.parse(handle))  # validate everything before writing anything
    except register.RegisterError as exc:
        raise SystemExit(f"{path}: {exc}") from exc
    client = mongo.client(settings.mongodb_url)
    try:
        repo = DirectoryRepository(client[settings.names.database("directory")])
        await repo.upsert_organisation(register.land())
        changed = 0
        for row in rows:
            changed += await repo.upsert_organisation(row.organisation)
        return len(rows), changed
    finally:
        await client.close()


async def seed_demo(settings: Settings) -> int:
    client = mongo.client(settings.mongodb_url)
    try:
        repo = DirectoryRepository(client[settings.names.database("directory")])
        await repo.create_indexes()
        passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
        return await seed(repo, build_service(settings, repo), passwords)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gdst", description="GDST-Plattform: Verwaltung")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser(
        "import-organisations", help="Kommunen aus dem Gemeindeverzeichnis (CSV) importieren"
    )
    imp.add_argument("file", type=Path)
    sub.add_parser("seed-demo", help="Demodaten anlegen (idempotent)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "import-organisations":
        total, changed = asyncio.run(import_organisations(settings, args.file))
        print(f"{total} Organisationen gelesen, {changed} neu oder geändert.")
    else:
        created = asyncio.run(seed_demo(settings))
        print(f"Demodaten bereit ({created} Personen neu angelegt).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
