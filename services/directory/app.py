"""Composition root of the directory service: database, rules, endpoints, outbox."""

from __future__ import annotations

from datetime import timedelta

from services.directory.endpoints import endpoints
from services.directory.passwords import Passwords
from services.directory.repository import DirectoryRepository
from services.directory.service import DirectoryService
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings


def build_service(settings: Settings, repo: DirectoryRepository) -> DirectoryService:
    return DirectoryService(
        repo,
        Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        invitation_ttl=timedelta(days=settings.invitation_ttl_days),
        login_max_failures=settings.login_max_failures,
        login_max_failures_per_client=settings.login_max_failures_per_client,
        login_window=timedelta(seconds=settings.login_window_seconds),
    )


async def start(settings: Settings) -> ServiceProcess:
    proc = await ServiceProcess.start(settings, "directory")
    repo = DirectoryRepository(proc.db)
    await repo.create_indexes()
    svc = build_service(settings, repo)
    await svc.ensure_basics()
    svc.on_outbox = proc.outbox(repo.outbox_collections).written
    await proc.serve(endpoints(svc))
    proc.parts.update(service=svc, repository=repo)
    return proc
