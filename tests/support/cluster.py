"""The production shape on loopback: a NATS cluster of three nodes and every service and the
gateway as several real OS processes (`python -m services.<name>`, `python -m gateway`).

Everything binds to 127.0.0.1 and is started in its own process group, so a finaliser can kill
what a process started too; `kill_all` is also registered with `atexit` for a test run that
ends without its finalisers.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from deploy.local import discover_services
from tests.support.servers import NATS_SERVER, ROOT, free_port, wait_for_port

# The services started as processes, in start order: every `services/<name>/__main__.py`, as
# `make run` starts them, so a new service is started here without a change.
SERVICES: tuple[str, ...] = tuple(discover_services(ROOT))

_RUNNING: set[Proc] = set()


@dataclass(eq=False)
class Proc:
    """One OS process with its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"--- {time.strftime('%H:%M:%S')} start {' '.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _RUNNING.add(self)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def signal(self, sig: signal.Signals) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)

    async def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the process still runs after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.popen is not None and self.popen.poll() is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
        return None if self.popen is None else self.popen.returncode

    def kill(self) -> None:
        """SIGKILL to the process group, as a crash or an OOM kill would."""
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(5)
        _RUNNING.discard(self)

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended after `timeout` seconds."""
        self.signal(signal.SIGTERM)
        if await self.wait(timeout) is None:
            self.kill()
        _RUNNING.discard(self)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@atexit.register
def kill_all() -> None:
    for proc in list(_RUNNING):
        proc.kill()


@dataclass
class NatsNode:
    name: str
    port: int
    cluster_port: int
    proc: Proc

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


class NatsCluster:
    """nats-server nodes joined by routes, each with JetStream and its own store."""

    def __init__(self, workdir: Path, size: int = 3) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        ports = [(free_port(), free_port()) for _ in range(size)]
        routes = ",".join(f"nats://127.0.0.1:{c}" for _, c in ports)
        self.nodes: list[NatsNode] = []
        for i, (port, cluster_port) in enumerate(ports, start=1):
            name = f"n{i}"
            store = workdir / name
            store.mkdir(exist_ok=True)
            argv = [
                str(NATS_SERVER),
                "-js",
                "--server_name",
                name,
                "--cluster_name",
                "gdst_test",
                "-a",
                "127.0.0.1",
                "-p",
                str(port),
                "--cluster",
                f"nats://127.0.0.1:{cluster_port}",
                "--routes",
                routes,
                "-sd",
                str(store),
            ]
            proc = Proc(f"nats-{name}", argv, dict(os.environ), workdir / f"{name}.log")
            self.nodes.append(NatsNode(name, port, cluster_port, proc))

    @property
    def url(self) -> str:
        """All nodes: clients fail over to the others when theirs goes away."""
        return ",".join(n.url for n in self.nodes)

    def node(self, name: str) -> NatsNode:
        return next(n for n in self.nodes if n.name == name)

    def start(self) -> None:
        for node in self.nodes:
            node.proc.start()
        for node in self.nodes:
            wait_for_port(node.port)

    def start_node(self, name: str) -> None:
        node = self.node(name)
        node.proc.start()
        wait_for_port(node.port)

    async def stop(self) -> None:
        await asyncio.gather(*(n.proc.stop(10) for n in self.nodes))


@dataclass
class Platform:
    """`instances` processes of every service and `gateways` gateways, on one environment."""

    workdir: Path
    env: dict[str, str]
    services: tuple[str, ...] = SERVICES
    instances: int = 2
    gateways: int = 2
    procs: dict[str, Proc] = field(default_factory=dict)
    gateway_urls: list[str] = field(default_factory=list)

    def _proc(self, name: str, module: str, extra: dict[str, str] | None = None) -> Proc:
        env = {**self.env, **(extra or {})}
        proc = Proc(name, [sys.executable, "-m", module], env, self.workdir / f"{name}.log")
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            for i in range(1, self.instances + 1):
                self._proc(f"{service}-{i}", f"services.{service}").start()
        for i in range(1, self.gateways + 1):
            port = free_port()
            self._proc(f"gateway-{i}", "gateway", {"GATEWAY_PORT": str(port)}).start()
            self.gateway_urls.append(f"http://127.0.0.1:{port}")

    def restart(self, name: str) -> None:
        self.procs[name].start()

    async def stop(self) -> None:
        # gateways first, as in production: nothing new comes in while the services stop
        gateways = [p for n, p in self.procs.items() if n.startswith("gateway")]
        await asyncio.gather(*(p.stop() for p in gateways))
        await asyncio.gather(*(p.stop() for p in self.procs.values() if p not in gateways))

    def logs(self) -> str:
        return "\n".join(f"== {name}\n{p.tail(15)}" for name, p in self.procs.items())


async def instances(nc: Client, verb: str, service_name: str, wait: float = 0.5) -> list[dict[str, Any]]:
    """Every instance's answer to `$SRV.<verb>.<service_name>` (PING, INFO or STATS).

    A plain request keeps only the first reply; this collects all of them for `wait` seconds.
    """
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        await nc.publish(f"$SRV.{verb}.{service_name}", b"", reply=inbox)
        await nc.flush()
        replies: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await sub.next_msg(timeout=left)
            except Exception:
                break
            if msg.data:  # an empty message is the server's "no responders" status
                replies.append(json.loads(msg.data))
        return replies
    finally:
        await sub.unsubscribe()
