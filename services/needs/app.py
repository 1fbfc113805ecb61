"""Composition root of the needs service: database, directory lookups, rules, endpoints, outbox."""

from __future__ import annotations

from services.needs.directory import Directory
from services.needs.endpoints import endpoints
from services.needs.repository import NeedsRepository
from services.needs.service import NeedsService
from services.runtime.process import ServiceProcess
from services.runtime.rpc import RpcClient
from services.runtime.settings import Settings


async def start(settings: Settings) -> ServiceProcess:
    proc = await ServiceProcess.start(settings, "needs")
    repo = NeedsRepository(proc.db)
    await repo.create_indexes()
    svc = NeedsService(
        repo, Directory(RpcClient(proc.conn.nc, proc.names, settings.rpc_timeout)), locks=await proc.locks()
    )
    svc.on_outbox = proc.outbox(repo.outbox_collections).written
    await proc.serve(endpoints(svc))
    proc.parts.update(service=svc, repository=repo)
    return proc
