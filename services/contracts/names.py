"""Subject, stream, bucket and database names, all derived from one namespace.

A namespace keeps deployments (and individual tests) apart on shared servers: every
subject, stream, KV bucket and database name starts with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERVICES = ("directory", "needs", "surveys", "notifications", "meetings")

_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True, slots=True)
class Names:
    namespace: str = "gdst"

    def __post_init__(self) -> None:
        if not _NAMESPACE.match(self.namespace):
            raise ValueError(f"invalid namespace {self.namespace!r}")

    # request/reply
    def service_name(self, service: str) -> str:
        """Name in the nats.micro registry (`$SRV.PING.<name>`)."""
        return f"{self.namespace}-{service}"

    def rpc(self, service: str, endpoint: str) -> str:
        """Edge subject: requests from the gateway, on behalf of people."""
        return f"{self.namespace}.rpc.{service}.{endpoint}"

    def internal_rpc(self, service: str, endpoint: str) -> str:
        """Internal subject: requests from other services; only service NATS users may publish
        here, and only here is a `service` principal accepted."""
        return f"{self.namespace}.svc.{service}.{endpoint}"

    # events
    @property
    def event_stream(self) -> str:
        return f"{self.namespace.upper()}_EVENTS"

    @property
    def event_wildcard(self) -> str:
        return f"{self.namespace}.events.>"

    def event_subject(self, event_type: str) -> str:
        return f"{self.namespace}.events.{event_type}"

    def durable(self, consumer: str) -> str:
        return f"{self.namespace}_{consumer}".replace(".", "_")

    @property
    def principal_changes(self) -> str:
        """Core NATS subject on which gateways tell each other to forget a person's remembered
        bearer tokens (revoked, or the person deleted)."""
        return f"{self.namespace}.live.principals"

    # state
    @property
    def session_bucket(self) -> str:
        return f"{self.namespace}_sessions"

    @property
    def token_bucket(self) -> str:
        """KV bucket of the bearer tokens' principals (`directory.token_key`), written by the
        directory and read by the gateways."""
        return f"{self.namespace}_tokens"

    def lock_bucket(self, service: str) -> str:
        """KV bucket of the service's cross-instance locks (services/runtime/locks.py)."""
        return f"{self.namespace}_{service}_locks"

    def database(self, service: str) -> str:
        return f"{self.namespace}_{service}"
