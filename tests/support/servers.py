"""Real nats-server, FerretDB and SMTP servers on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from deploy.local import FERRETDB_GO_ENV
from services.runtime import natsauth

ROOT = Path(__file__).resolve().parents[2]
NATS_SERVER = Path(sys.executable).parent / "nats-server"
FERRETDB = ROOT / ".tools" / "bin" / "ferretdb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Process:
    args: list[str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        with self.log.open("ab") as out:
            env = {**self.env, **os.environ}
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=env)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# One password per process kind for the whole test session (Settings.nats_users), plus `ops`
# (clients without credentials: test inspection and cleanup) and an outsider that may publish
# nothing but its own inbox traffic (the forged-principal tests connect as it).
NATS_PASSWORDS = natsauth.new_passwords((*natsauth.PROCESS_KINDS, natsauth.OPS))
OUTSIDER = ("outsider", "outsider-password")


def nats_auth_config(workdir: Path) -> Path:
    """The test servers' authorisation config; pass `-c <path>` to any nats-server a test
    starts (clusters too: `--cluster`/`--routes` flags go beside it)."""
    path = workdir / "nats-auth.conf"
    outsider = {
        "password": OUTSIDER[1],
        "permissions": {"publish": {"allow": ["_INBOX.>"]}, "subscribe": {"allow": ["_INBOX.>"]}},
    }
    path.write_text(
        natsauth.server_config(NATS_PASSWORDS, no_auth_user=natsauth.OPS, extra_users={OUTSIDER[0]: outsider})
    )
    path.chmod(0o600)
    return path


def nats_server(workdir: Path, port: int | None = None, *, auth: bool = True) -> Process:
    port = port or free_port()
    store = workdir / f"nats-{port}"
    store.mkdir(parents=True, exist_ok=True)
    config = ["-c", str(nats_auth_config(workdir))] if auth else []
    return Process(
        [str(NATS_SERVER), *config, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        port,
        workdir / f"nats-{port}.log",
    )


def ferretdb(workdir: Path, port: int | None = None) -> Process:
    port = port or free_port()
    data = workdir / f"ferretdb-{port}"
    data.mkdir(parents=True, exist_ok=True)
    return Process(
        [
            str(FERRETDB),
            "--handler=sqlite",
            # as deploy/local.py: WAL with synchronous=NORMAL, 2-3x the inserts per second
            f"--sqlite-url=file:{data}/?_pragma=synchronous(normal)",
            f"--state-dir={data}",
            f"--listen-addr=127.0.0.1:{port}",
            "--telemetry=disable",
            "--debug-addr=-",
            "--log-level=warn",
        ],
        port,
        workdir / f"ferretdb-{port}.log",
        env=FERRETDB_GO_ENV,
    )


@dataclass
class Mailbox:
    """Mails received by the test SMTP server, with a way to wait for them."""

    messages: list[EmailMessage] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} mail(s) to {address} expected, got {len(self.to(address))}")


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.box.messages.append(message)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on a fixed loopback port that can be stopped and started again (a Controller
    cannot: stopping closes its event loop)."""

    def __init__(self, box: Mailbox, port: int | None = None) -> None:
        self.box = box
        self.port = port or free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(_Handler(self.box), hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def smtp_server(box: Mailbox) -> SmtpServer:
    server = SmtpServer(box)
    server.start()
    return server


def have_binaries() -> list[str]:
    missing = [str(p) for p in (NATS_SERVER, FERRETDB) if not p.exists()]
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        missing.append("/usr/bin/chromium")
    return missing


__all__ = ["Mailbox", "Process", "ferretdb", "free_port", "have_binaries", "nats_server", "os", "smtp_server"]
