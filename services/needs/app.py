"""Composition root of the needs service: database, directory lookups, rules, endpoints, outbox."""

from __future__ import annotations

from services.needs.directory import Directory
from services.needs.endpoints import endpoints
from services.needs.repository import NeedsRepository
from services.needs.service import NeedsService
from services.runtime import privacy
from services.runtime.process import ServiceProcess
from services.runtime.rpc import RpcClient
from services.runtime.settings import Settings

# needs, supports and sign-ups belong to the Kommune and stay; the contact typed into a sign-up
# is the person's
PRIVACY_POLICY = privacy.Policy(service="needs", blank={"signups": ("contact_name", "contact_email")})


async def start(settings: Settings) -> ServiceProcess:
    proc = await ServiceProcess.start(settings, "needs")
    repo = NeedsRepository(proc.db)
    await repo.create_indexes()
    svc = NeedsService(
        repo, Directory(RpcClient(proc.conn.nc, proc.names, settings.rpc_timeout)), locks=await proc.locks()
    )
    svc.on_outbox = proc.outbox(repo.outbox_collections).written
    _, export = await privacy.join(proc, PRIVACY_POLICY)
    await proc.serve([*endpoints(svc), export])
    proc.parts.update(service=svc, repository=repo)
    return proc
