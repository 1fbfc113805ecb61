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
    extra: Mapping[str, str] = field(default_factory=dict)

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
            login_max_failures=int(e.get("LOGIN_MAX_FAILURES") or d.login_max_failures),
            login_max_failures_per_client=int(
                e.get("LOGIN_MAX_FAILURES_PER_CLIENT") or d.login_max_failures_per_client
            ),
            login_window_seconds=int(e.get("LOGIN_WINDOW_SECONDS") or d.login_window_seconds),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
