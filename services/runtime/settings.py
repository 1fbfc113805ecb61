"""Settings from environment variables, read once in each composition root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from services.contracts.names import Names


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class Settings:
    nats_url: str = "nats://127.0.0.1:4222"
    mongodb_url: str = "mongodb://127.0.0.1:27017/"
    namespace: str = "gdst"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    # credentials for a relay that wants a login (empty: none); STARTTLS is used when offered
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "GDST-Plattform <noreply@gdst.example>"
    public_url: str = "http://127.0.0.1:8000"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    demo: bool = True
    log_level: str = "INFO"
    log_json: bool = True
    secure_cookies: bool = False
    # argon2id cost; tests lower the memory cost so a suite can hash many passwords quickly
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    rpc_timeout: float = 5.0
    login_max_failures: int = 5
    # failed logins from one client address (any accounts) within the window before it waits
    login_max_failures_per_client: int = 30
    login_window_seconds: int = 900
    session_ttl_seconds: int = 8 * 3600
    invitation_ttl_days: int = 14
    # local time (Europe/Berlin) at which daily and (on Mondays) weekly digests go out
    digest_time: str = "07:00"
    # a service process's listener for /healthz, /readyz and /metrics (0: none); the gateway
    # serves these on its own port
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # retention (docs/privacy.md): inbox items and delivery logs older than this many days are
    # removed by the notifications service, checked every `retention_interval_seconds`
    retention_inbox_days: int = 180
    retention_delivery_log_days: int = 90
    retention_interval_seconds: float = 3600.0
    # JetStream replicas of the event stream, the consumers and the KV buckets: 3 on a NATS
    # cluster (docs/scaling.md), 1 on a single server
    nats_replicas: int = 1
    # SIGTERM: how long a process may take to drain, finish its work and close (docs/scaling.md)
    shutdown_timeout: float = 10.0
    extra: Mapping[str, str] = field(default_factory=dict)
    # this process's NATS user (docs/hardening.md, "Authorisation"); empty: connect without one
    nats_user: str = ""
    nats_password: str = ""
    # passwords by process kind, for launchers that start several processes from one Settings
    # (the test stack); a kind found here connects as the user of that name
    nats_users: Mapping[str, str] = field(default_factory=dict)

    @property
    def names(self) -> Names:
        return Names(self.namespace)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        d = cls()
        return cls(
            nats_url=e.get("NATS_URL") or d.nats_url,
            mongodb_url=e.get("MONGODB_URL") or d.mongodb_url,
            namespace=e.get("GDST_NAMESPACE") or d.namespace,
            smtp_host=e.get("SMTP_HOST") or d.smtp_host,
            smtp_port=int(e.get("SMTP_PORT") or d.smtp_port),
            smtp_username=e.get("SMTP_USERNAME") or d.smtp_username,
            smtp_password=e.get("SMTP_PASSWORD") or d.smtp_password,
            mail_from=e.get("MAIL_FROM") or d.mail_from,
            public_url=(e.get("PUBLIC_URL") or d.public_url).rstrip("/"),
            gateway_host=e.get("GATEWAY_HOST") or d.gateway_host,
            gateway_port=int(e.get("GATEWAY_PORT") or d.gateway_port),
            demo=_flag(e.get("GDST_DEMO"), d.demo),
            log_level=(e.get("LOG_LEVEL") or d.log_level).upper(),
            log_json=_flag(e.get("LOG_JSON"), d.log_json),
            secure_cookies=_flag(e.get("SECURE_COOKIES"), d.secure_cookies),
            argon2_time_cost=int(e.get("ARGON2_TIME_COST") or d.argon2_time_cost),
            argon2_memory_kib=int(e.get("ARGON2_MEMORY_KIB") or d.argon2_memory_kib),
            rpc_timeout=float(e.get("RPC_TIMEOUT") or d.rpc_timeout),
            digest_time=e.get("DIGEST_TIME") or d.digest_time,
            metrics_host=e.get("METRICS_HOST") or d.metrics_host,
            metrics_port=int(e.get("METRICS_PORT") or d.metrics_port),
            retention_inbox_days=int(e.get("RETENTION_INBOX_DAYS") or d.retention_inbox_days),
            retention_delivery_log_days=int(
                e.get("RETENTION_DELIVERY_LOG_DAYS") or d.retention_delivery_log_days
            ),
            retention_interval_seconds=float(
                e.get("RETENTION_INTERVAL_SECONDS") or d.retention_interval_seconds
            ),
            # JETSTREAM_REPLICAS: the name the deploy/ manifests use
            nats_replicas=int(e.get("NATS_REPLICAS") or e.get("JETSTREAM_REPLICAS") or d.nats_replicas),
            shutdown_timeout=float(e.get("SHUTDOWN_TIMEOUT") or d.shutdown_timeout),
            nats_user=e.get("NATS_USER") or d.nats_user,
            nats_password=e.get("NATS_PASSWORD") or d.nats_password,
            login_max_failures=int(e.get("LOGIN_MAX_FAILURES") or d.login_max_failures),
            login_max_failures_per_client=int(
                e.get("LOGIN_MAX_FAILURES_PER_CLIENT") or d.login_max_failures_per_client
            ),
            login_window_seconds=int(e.get("LOGIN_WINDOW_SECONDS") or d.login_window_seconds),
        )

    def nats_credentials(self, kind: str) -> tuple[str, str] | None:
        """User and password with which a process of this kind connects to NATS, if any."""
        if kind in self.nats_users:
            return kind, self.nats_users[kind]
        if self.nats_user:
            return self.nats_user, self.nats_password
        return None

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
