"""Composition root of the directory service: database, rules, endpoints, outbox."""

from __future__ import annotations

from datetime import timedelta

from services.contracts import privacy as pv
from services.contracts.envelope import Principal
from services.directory.audit import AuditLog
from services.directory.endpoints import endpoints
from services.directory.passwords import Passwords
from services.directory.repository import DirectoryRepository
from services.directory.service import DirectoryService
from services.directory.tokens import TokenIndex
from services.runtime import privacy
from services.runtime.lifecycle import retry
from services.runtime.process import ServiceProcess
from services.runtime.rpc import Endpoint, required
from services.runtime.settings import Settings

PRIVACY_POLICY = privacy.Policy(
    service="directory",
    # the login, its API tokens, invitations and AG memberships end with the person
    delete=frozenset({"emails", "tokens", "invitations", "memberships", "login_failures"}),
    omit={"people": ("password_hash",), "tokens": ("_id",), "invitations": ("_id",)},
)


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
    tokens = TokenIndex(
        proc.conn.nc.jetstream(timeout=2.0), proc.names.token_bucket, replicas=settings.nats_replicas
    )
    await retry("token bucket", tokens.open)
    svc.token_bucket = tokens
    # the directory forgets a person like every other service: through its privacy consumer
    personal, export = await privacy.join(proc, PRIVACY_POLICY)
    personal.on_erased.append(repo.people_changed)
    audit = AuditLog(proc.db)
    await audit.create_indexes()
    await proc.consume(audit.durable, audit.event_types, audit)

    async def audit_list(principal: Principal | None, req: pv.AuditQuery) -> pv.AuditPage:
        return await audit.query(required(principal), req)

    await proc.serve([*endpoints(svc), export, Endpoint(pv.AUDIT_ENDPOINT, pv.AuditQuery, audit_list)])
    proc.parts.update(service=svc, repository=repo, audit=audit)
    return proc
