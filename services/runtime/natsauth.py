"""NATS users with subject permissions, one user per process kind.

Who may put a principal on the bus decides who the services believe, so the bus itself is the
first guard: an outside client cannot publish to any request subject, the gateway may publish
only to the edge subjects (`<ns>.rpc.>`, where person principals arrive) and services also to
the internal subjects (`<ns>.svc.>`, the only place a `service` principal is accepted; see
`services/runtime/rpc.py`). Permissions use a namespace wildcard (`*`) by default, so one
server serves every per-test namespace; a deployment passes its own namespace.

The JetStream API (`$JS.API.>`) cannot be narrowed to one namespace's streams with subject
wildcards (stream names are single tokens such as `GDST_EVENTS`); separate accounts would be the
next step. It is granted to the trusted processes only, never to an outsider.

`server_config()` returns the nats-server configuration (JSON, which nats-server reads as its
own format) for any test or launcher that starts a server; CLI flags such as `-js`, `-p` or
`--cluster` can be given beside `-c`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GATEWAY = "gateway"
# every service process; a new service adds its name here and gets the service permissions
SERVICE_KINDS = ("directory", "needs", "surveys", "notifications", "meetings")
PROCESS_KINDS = (GATEWAY, *SERVICE_KINDS)
# operations tooling (nats CLI, test inspection): everything, never given to a process
OPS = "ops"

# subjects on which a service publishes besides events and internal calls
EXTRA_PUBLISH: Mapping[str, tuple[str, ...]] = {
    "surveys": ("{ns}.live.>",),  # poll results for the gateway's live stream
}

# subjects a service follows itself besides its own calls (core NATS, every instance)
EXTRA_SUBSCRIBE: Mapping[str, tuple[str, ...]] = {
    # each instance learns of the ballots the others stored, for its live counts, of the
    # surveys the others published or closed, to drop its copy, and of the polls they opened or
    # closed, for its closer's list
    "surveys": (
        "{ns}.events.ballot.cast",
        "{ns}.events.survey.published",
        "{ns}.events.survey.closed",
        "{ns}.events.poll.opened",
        "{ns}.events.poll.closed",
    ),
}

# `$JS.FC.>`: the flow-control answers of a watch (the gateway's copy of the token bucket)
_JETSTREAM = ("$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>")


def permissions(kind: str, namespace: str = "*") -> dict[str, Any]:
    """Publish/subscribe allow-lists of one process kind."""
    ns = namespace
    if kind == GATEWAY:
        return {
            # `live.principals`: gateways tell each other to forget a person's bearer tokens
            "publish": {"allow": [f"{ns}.rpc.>", f"{ns}.live.principals", "$SRV.PING.>", *_JETSTREAM]},
            "subscribe": {"allow": ["_INBOX.>", f"{ns}.live.>"]},
        }
    if kind in SERVICE_KINDS:
        publish = [
            f"{ns}.events.>",
            f"{ns}.svc.>",
            *_JETSTREAM,
            *(s.format(ns=ns) for s in EXTRA_PUBLISH.get(kind, ())),
        ]
        return {
            "publish": {"allow": publish},
            "subscribe": {
                "allow": [
                    f"{ns}.rpc.{kind}.>",
                    f"{ns}.svc.{kind}.>",
                    "$SRV.>",
                    "_INBOX.>",
                    *(s.format(ns=ns) for s in EXTRA_SUBSCRIBE.get(kind, ())),
                ]
            },
            # replies to requests (and to `$SRV.PING`) go to the requester's inbox, whatever it is
            "allow_responses": True,
        }
    raise ValueError(f"unknown process kind {kind!r}")


def new_passwords(kinds: tuple[str, ...] = PROCESS_KINDS) -> dict[str, str]:
    # a letter first: nats-server parses a `$VAR` taken from its environment (the Helm values of
    # deploy/k8s) as a config value, and one starting with a digit or `-` as a number, which fails
    return {kind: secrets.choice(string.ascii_letters) + secrets.token_urlsafe(18) for kind in kinds}


def server_config(
    passwords: Mapping[str, str],
    *,
    namespace: str = "*",
    no_auth_user: str | None = None,
    extra_users: Mapping[str, dict[str, Any]] | None = None,
) -> str:
    """nats-server configuration with one user per entry of `passwords`.

    A kind of `PROCESS_KINDS` gets its permissions, `OPS` gets everything. `extra_users` maps a
    user name to `{"password": ..., "permissions": {...}}` (tests use it for an outsider).
    `no_auth_user` lets clients without credentials act as that user: for tests and their
    inspection tooling only, never in a deployment.
    """
    users: list[dict[str, Any]] = []
    for kind, password in passwords.items():
        user: dict[str, Any] = {"user": kind, "password": password}
        if kind != OPS:
            user["permissions"] = permissions(kind, namespace)
        users.append(user)
    for name, spec in (extra_users or {}).items():
        users.append({"user": name, **spec})
    config: dict[str, Any] = {"authorization": {"users": users}}
    if no_auth_user:
        config["no_auth_user"] = no_auth_user
    return json.dumps(config, indent=2)


def write_files(config_path: Path, env_path: Path, namespace: str = "gdst") -> dict[str, str]:
    """New passwords for a deployment: the server's authorisation config (include it from the
    nats-server config, e.g. `include ./auth.conf`) and an env file with one
    `NATS_PASSWORD_<KIND>` line per process kind for Compose or a Secret. Both owner-only."""
    passwords = new_passwords((*PROCESS_KINDS, OPS))
    for path, text in (
        (config_path, server_config(passwords, namespace=namespace)),
        (env_path, "".join(f"NATS_PASSWORD_{k.upper()}={v}\n" for k, v in passwords.items())),
    ):
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(text)
    return passwords


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.runtime.natsauth",
        description="Write a NATS authorisation config with one user per process kind, and the passwords.",
    )
    parser.add_argument("config", type=Path, help="nats-server config fragment to write (JSON)")
    parser.add_argument("env", type=Path, help="env file with NATS_PASSWORD_<KIND>=... to write")
    parser.add_argument("--namespace", default="gdst", help="GDST_NAMESPACE of the deployment")
    args = parser.parse_args(argv)
    write_files(args.config, args.env, args.namespace)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
