"""NATS users for the Compose stack: `python -m deploy.natsusers` (from the repository root).

Writes new passwords for every process kind (services/runtime/natsauth.py) into two places:
`deploy/nats/auth.conf`, which each NATS node includes, and the `NATS_PASSWORD_<KIND>` lines of
`deploy/.env`, from which Compose gives each container its own user. Other lines of `.env` stay
as they are, so the same command rotates the passwords. Both files are readable by their owner
only. Kubernetes takes the env file of `python -m services.runtime.natsauth` as a Secret instead
(deploy/README.md, "NATS users").
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from services.runtime import natsauth

DEPLOY = Path(__file__).resolve().parent
PREFIX = "NATS_PASSWORD_"


def env_key(kind: str) -> str:
    return PREFIX + kind.upper()


HEADER = "# NATS users (python -m deploy.natsusers writes these lines; run it again to rotate)"


def merge_env(text: str, passwords: Mapping[str, str]) -> str:
    """`text` (an env file) with its NATS_PASSWORD_ lines replaced by the new passwords."""
    kept = [line for line in text.splitlines() if not line.startswith(PREFIX) and line != HEADER]
    while kept and not kept[-1].strip():
        kept.pop()
    block = [HEADER, *(f"{env_key(kind)}={password}" for kind, password in passwords.items())]
    return "\n".join([*kept, *([""] if kept else []), *block]) + "\n"


def env_value(text: str, key: str) -> str | None:
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip().strip("'\"")
    return None


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


def write_compose_files(auth_path: Path, env_path: Path, namespace: str | None = None) -> dict[str, str]:
    """New passwords in both files; the permissions name the namespace of `.env` (GDST_NAMESPACE,
    as Compose passes it to the processes) unless one is given."""
    passwords = natsauth.new_passwords((*natsauth.PROCESS_KINDS, natsauth.OPS))
    old = env_path.read_text(encoding="utf-8") if env_path.exists() else ""
    namespace = namespace or env_value(old, "GDST_NAMESPACE") or "gdst"
    _write_private(env_path, merge_env(old, passwords))
    _write_private(auth_path, natsauth.server_config(passwords, namespace=namespace) + "\n")
    return passwords


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.natsusers",
        description="New NATS passwords for the Compose stack: deploy/nats/auth.conf and deploy/.env.",
    )
    parser.add_argument(
        "--namespace", help="GDST_NAMESPACE of the deployment (default: from .env, else gdst)"
    )
    parser.add_argument("--auth", type=Path, default=DEPLOY / "nats" / "auth.conf")
    parser.add_argument("--env", type=Path, default=DEPLOY / ".env")
    args = parser.parse_args(argv)
    write_compose_files(args.auth, args.env, args.namespace)
    print(f"wrote {args.auth} and the {PREFIX}* lines of {args.env}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
