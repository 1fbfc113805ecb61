"""Local launcher: `python -m deploy.local` (or `make run`) starts the whole platform on one machine.

In order: nats-server (JetStream) and FerretDB (SQLite backend) unless NATS_URL / MONGODB_URL point
elsewhere, the development mailbox unless SMTP_HOST is set, the demo data (unless GDST_DEMO=0),
every `services.<name>` package with a `__main__.py` and finally the gateway. Children share one
environment and their output is shown with their name in front (and kept in `<var>/log/<name>.log`).
Ctrl-C or SIGTERM stops the children in reverse order, then the servers. Data stays in `var/`.

The same stack can be started from other code (benchmarks) on other ports and another data folder:

    stack = await start_stack(root, Ports(nats=14222, ...), env, var_dir=Path("/tmp/bench"))
    ...
    await stack.stop()
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from services.runtime import natsauth

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SERVICE_ORDER = ("directory", "needs", "surveys", "notifications", "meetings")
DEMO_LOGINS = ("ministerium@gdst.example", "kommune-15003@gdst.example")
DEMO_PASSWORD = "gdst-demo"
STOP_TIMEOUT = 10.0
SERVER_TIMEOUT = 30.0
GATEWAY_TIMEOUT = 90.0

# Go's collector ran at every doubling of FerretDB's small live heap: 15 % of its CPU under load.
# Collecting at 5x costs ~15 MB more RSS and a quarter of the CPU of an update; the memory limit
# makes it collect sooner should the heap ever grow large (docs/performance.md, change #72).
# GOGC / GOMEMLIMIT in the environment win.
FERRETDB_GO_ENV = {"GOGC": "400", "GOMEMLIMIT": "512MiB"}

_OFF = {"0", "false", "no", "off"}


class StackError(Exception):
    """The stack could not be started; the message is meant for the person at the console."""


@dataclass(frozen=True, slots=True)
class Ports:
    nats: int = 4222
    mongodb: int = 27017
    smtp: int = 2525
    gateway: int = 8000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Ports:
        """Ports from NATS_PORT, MONGODB_PORT, SMTP_PORT and GATEWAY_PORT, defaults otherwise."""
        default = cls()
        return cls(
            nats=_port(env, "NATS_PORT", default.nats),
            mongodb=_port(env, "MONGODB_PORT", default.mongodb),
            smtp=_port(env, "SMTP_PORT", default.smtp),
            gateway=_port(env, "GATEWAY_PORT", default.gateway),
        )


def _port(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StackError(f"{key}={raw!r} is not a port number") from None
    if not 0 < value < 65536:
        raise StackError(f"{key}={value} is not a port number")
    return value


def demo_enabled(env: Mapping[str, str]) -> bool:
    return env.get("GDST_DEMO", "").strip().lower() not in _OFF


def var_dir_from_env(root: Path, env: Mapping[str, str]) -> Path:
    """The data folder: GDST_VAR_DIR (relative to the project root) or `<root>/var`."""
    raw = env.get("GDST_VAR_DIR", "").strip()
    path = Path(raw) if raw else Path("var")
    return path if path.is_absolute() else root / path


def discover_services(root: Path) -> list[str]:
    """Names of the `services.<name>` packages that can be run, in start order."""
    found = sorted(p.parent.name for p in (root / "services").glob("*/__main__.py"))
    return [n for n in SERVICE_ORDER if n in found] + [n for n in found if n not in SERVICE_ORDER]


# --- console output ----------------------------------------------------------------------------

_COLOURS = ("36", "33", "35", "32", "34", "91", "96", "93", "95", "92")
_RECORD_KEYS = {"time", "level", "process", "logger", "msg", "exc"}


def readable(line: str) -> str:
    """A JSON log record (see services.runtime.logs) as one short line; other text unchanged."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "msg" not in record:
        return line
    parts: list[str] = []
    with contextlib.suppress(TypeError, ValueError):
        parts.append(datetime.fromisoformat(str(record["time"])).astimezone().strftime("%H:%M:%S"))
    parts.append(str(record.get("level", "")).upper().ljust(7))
    parts.append(str(record["msg"]))
    extras = [f"{k}={v}" for k, v in record.items() if k not in _RECORD_KEYS]
    text = " ".join(parts + extras)
    if record.get("exc"):
        text += "\n" + str(record["exc"])
    return text


class Console:
    """Writes lines with a name column in front; colours only on a terminal."""

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        if colour is None:
            colour = self.stream.isatty() and "NO_COLOR" not in os.environ
        self.colour = colour
        self.width = len("launcher")
        self._colours: dict[str, str] = {}

    def reserve(self, names: Iterable[str]) -> None:
        self.width = max([self.width, *(len(n) for n in names)])

    def line(self, name: str, text: str) -> None:
        label = name.ljust(self.width)
        if self.colour:
            code = self._colours.setdefault(name, _COLOURS[len(self._colours) % len(_COLOURS)])
            label = f"\x1b[{code}m{label}\x1b[0m"
        for part in text.splitlines() or [""]:
            self.stream.write(f"{label} | {part}\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        self.line("launcher", text)


# --- processes ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Child:
    """One process the launcher started."""

    name: str
    argv: list[str]
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    pump: asyncio.Task[None] | None = None
    log: BinaryIO | None = None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode


async def _accepts(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    # each child leads its own process group, so this also reaches anything it started itself
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)


class Stack:
    """NATS, FerretDB, mailbox, demo data, services and gateway, started and stopped in order."""

    def __init__(
        self,
        root: Path,
        ports: Ports,
        env: Mapping[str, str],
        var_dir: Path | None = None,
        *,
        demo: bool | None = None,
        services: bool = True,
        console: Console | None = None,
    ) -> None:
        self.root = root
        self.ports = ports
        self.base_env = dict(env)
        self.var_dir = var_dir if var_dir is not None else var_dir_from_env(root, env)
        self.demo = demo_enabled(env) if demo is None else demo
        self.with_services = services
        self.console = console if console is not None else Console()
        self.bin_dir = Path(sys.executable).parent
        self.nats_server = self.bin_dir / "nats-server"
        self.ferretdb = root / ".tools" / "bin" / "ferretdb"
        self.env: dict[str, str] = {}
        # NATS user passwords by process kind, when the launcher starts its own nats-server
        self.nats_passwords: dict[str, str] = {}
        self.children: list[Child] = []
        self.stopping = False
        self.hurry = asyncio.Event()  # set to skip the graceful wait when stopping

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def url(self) -> str:
        return self.env.get("PUBLIC_URL") or f"http://{HOST}:{self.ports.gateway}"

    @property
    def own_mailbox(self) -> bool:
        return not self.base_env.get("SMTP_HOST")

    # start-up

    async def start(self) -> None:
        """Start everything; returns once the gateway accepts connections (if there is one)."""
        for sub in ("nats", "ferretdb", "mail", "log"):
            (self.var_dir / sub).mkdir(parents=True, exist_ok=True)
        env = dict(self.base_env)
        env["PYTHONUNBUFFERED"] = "1"
        env["GATEWAY_PORT"] = str(self.ports.gateway)
        env.setdefault("PUBLIC_URL", f"http://{HOST}:{self.ports.gateway}")
        start_nats = not env.get("NATS_URL")
        start_mongo = not env.get("MONGODB_URL")
        services = discover_services(self.root) if self.with_services else []
        gateway = self.with_services and (self.root / "gateway" / "__main__.py").exists()
        self.console.reserve(["seed", "mail", *services, "gateway"])

        wanted = [
            (start_nats, self.ports.nats, "NATS", "NATS_URL or NATS_PORT"),
            (start_mongo, self.ports.mongodb, "FerretDB", "MONGODB_URL or MONGODB_PORT"),
            (self.own_mailbox, self.ports.smtp, "the mailbox", "SMTP_HOST or SMTP_PORT"),
            (gateway, self.ports.gateway, "the gateway", "GATEWAY_PORT"),
        ]
        for needed, port, what, variables in wanted:
            if needed and await _accepts(HOST, port):
                raise StackError(
                    f"port {port} for {what} is already in use (is another `make run` still running?); "
                    f"stop that process or set {variables}"
                )

        if start_nats:
            self._need(self.nats_server)
            store = self.var_dir / "nats"
            # with --servers-only the processes are started by hand: no users then (loopback only)
            auth = ("-c", str(self._nats_auth(store))) if self.with_services else ()
            nats = await self._spawn(
                "nats",
                [
                    str(self.nats_server),
                    *auth,
                    *("-js", "-a", HOST, "-p", str(self.ports.nats), "-sd", str(store)),
                ],
                env,
                to_console=False,
            )
            await self._wait_port(nats, self.ports.nats, SERVER_TIMEOUT)
            env["NATS_URL"] = f"nats://{HOST}:{self.ports.nats}"
        if start_mongo:
            self._need(self.ferretdb)
            data = self.var_dir / "ferretdb"
            ferretdb = await self._spawn(
                "ferretdb",
                [
                    str(self.ferretdb),
                    "--handler=sqlite",
                    # WAL (FerretDB's default) with synchronous=NORMAL: a commit survives a crash of
                    # any process, only an OS crash or power cut may lose the last ones; 2-3x the
                    # inserts per second of the default FULL (docs/performance.md)
                    f"--sqlite-url=file:{data}/?_pragma=synchronous(normal)",
                    f"--state-dir={data}",
                    f"--listen-addr={HOST}:{self.ports.mongodb}",
                    "--telemetry=disable",
                    # FerretDB's pprof and metrics endpoint, off unless asked for (profiling, docs/performance.md)
                    f"--debug-addr={env.get('GDST_FERRETDB_DEBUG_ADDR') or '-'}",
                    "--log-level=warn",
                ],
                {**FERRETDB_GO_ENV, **env},
                to_console=False,
            )
            await self._wait_port(ferretdb, self.ports.mongodb, SERVER_TIMEOUT)
            env["MONGODB_URL"] = f"mongodb://{HOST}:{self.ports.mongodb}/"
        if self.own_mailbox:
            mail = await self._spawn(
                "mail",
                [
                    sys.executable,
                    "-m",
                    "deploy.mailbox",
                    "--host",
                    HOST,
                    "--port",
                    str(self.ports.smtp),
                    "--dir",
                    str(self.mail_dir),
                ],
                env,
            )
            await self._wait_port(mail, self.ports.smtp, SERVER_TIMEOUT)
            env["SMTP_HOST"] = HOST
            env["SMTP_PORT"] = str(self.ports.smtp)
        self.env = env

        if self.demo:
            await self._seed()
        for name in services:
            await self._spawn(name, [sys.executable, "-m", f"services.{name}"], self._process_env(name))
        if gateway:
            child = await self._spawn(
                "gateway", [sys.executable, "-m", "gateway"], self._process_env("gateway")
            )
            await self._wait_port(child, self.ports.gateway, GATEWAY_TIMEOUT)
        elif self.with_services:
            self.console.say("gateway/__main__.py does not exist yet: running without the gateway")

    def _nats_auth(self, store: Path) -> Path:
        """One NATS user per process kind with new passwords on every start (docs/hardening.md);
        `ops` (everything) is for the nats CLI: its password is in the file, readable by the owner
        only."""
        # a service missing from natsauth.SERVICE_KINDS gets no user and fails to connect, loudly
        self.nats_passwords = natsauth.new_passwords((*natsauth.PROCESS_KINDS, natsauth.OPS))
        path = store / "auth.conf"
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(natsauth.server_config(self.nats_passwords))
        return path

    def _process_env(self, kind: str) -> dict[str, str]:
        env = dict(self.env)
        if kind in self.nats_passwords:
            env["NATS_USER"] = kind
            env["NATS_PASSWORD"] = self.nats_passwords[kind]
        return env

    def _need(self, binary: Path) -> None:
        if not binary.exists():
            raise StackError(f"{binary} is missing; run `make setup` first")

    async def _seed(self) -> None:
        gdst = self.bin_dir / "gdst"
        argv = [str(gdst)] if gdst.exists() else [sys.executable, "-m", "services.directory.cli"]
        await self._seed_with([*argv, "seed-demo"])
        # the rhythm of the network: Sprechstunden, Digitales Frühstück, regional meetings, …
        if (self.root / "services" / "meetings" / "seed.py").exists():
            await self._seed_with([sys.executable, "-m", "services.meetings.seed"])

    async def _seed_with(self, argv: list[str]) -> None:
        child = await self._spawn("seed", argv, self.env)
        assert child.proc is not None
        code = await child.proc.wait()
        await self._finish(child)
        self.children.remove(child)
        if code != 0:
            raise StackError(f"loading the demo data failed (exit code {code}), see {child.log_path}")

    async def _spawn(
        self, name: str, argv: list[str], env: Mapping[str, str], to_console: bool = True
    ) -> Child:
        child = Child(name, argv, self.log_dir / f"{name}.log")
        child.log = child.log_path.open("ab")
        child.log.write(f"--- {datetime.now().isoformat(timespec='seconds')} {' '.join(argv)}\n".encode())
        child.log.flush()
        output: int | BinaryIO = asyncio.subprocess.PIPE if to_console else child.log
        spawning = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                cwd=self.root,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the launcher only; it stops children in order
                limit=1 << 20,
            )
        )
        try:
            child.proc = await asyncio.shield(spawning)
        except asyncio.CancelledError:
            # cancelled while the process was being created: still register it so stop() ends it
            with contextlib.suppress(Exception):
                child.proc = await spawning
            if child.proc is not None:
                self.children.append(child)
            raise
        except OSError as exc:
            child.log.close()
            raise StackError(f"cannot start {name} ({argv[0]}): {exc}") from exc
        self.children.append(child)
        if to_console and child.proc.stdout is not None:
            child.pump = asyncio.create_task(self._pump(child, child.proc.stdout))
        return child

    async def _pump(self, child: Child, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                data = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):
                data = await stream.read(1 << 16)
            if not data:
                return
            if child.log is not None:
                child.log.write(data)
                child.log.flush()
            self.console.line(child.name, readable(data.decode("utf-8", "replace").rstrip("\r\n")))

    async def _wait_port(self, child: Child, port: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await _accepts(HOST, port):
            if child.returncode is not None:
                raise StackError(
                    f"{child.name} exited (code {child.returncode}) before listening on {HOST}:{port}; "
                    f"see {child.log_path}"
                )
            if loop.time() > deadline:
                raise StackError(
                    f"{child.name} does not accept connections on {HOST}:{port} after {timeout:.0f} s; "
                    f"see {child.log_path}"
                )
            await asyncio.sleep(0.1)

    # running and stopping

    async def wait(self) -> Child:
        """Wait until any started process exits and return it."""
        waits = {asyncio.ensure_future(c.proc.wait()): c for c in self.children if c.proc is not None}
        if not waits:
            raise StackError("nothing is running")
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        return waits[next(iter(done))]

    async def stop(self) -> None:
        """Stop the children in reverse start order: SIGTERM, up to 10 s grace, then SIGKILL."""
        self.stopping = True
        for child in reversed(self.children):
            await self._terminate(child)
        self.children.clear()

    async def _terminate(self, child: Child) -> None:
        proc = child.proc
        if proc is not None and proc.returncode is None:
            _signal_group(proc, signal.SIGTERM)
            exited = asyncio.ensure_future(proc.wait())
            hurry = asyncio.ensure_future(self.hurry.wait())
            await asyncio.wait({exited, hurry}, timeout=STOP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            hurry.cancel()
            if not exited.done():
                exited.cancel()
                if not self.hurry.is_set():
                    self.console.say(f"{child.name} did not stop within {STOP_TIMEOUT:.0f} s, killing it")
                _signal_group(proc, signal.SIGKILL)
                await proc.wait()
        await self._finish(child)

    async def _finish(self, child: Child) -> None:
        if child.pump is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(child.pump, timeout=5)
        if child.log is not None:
            child.log.close()
            child.log = None


async def start_stack(
    root: Path,
    ports: Ports,
    env: Mapping[str, str],
    var_dir: Path | None = None,
    *,
    demo: bool | None = None,
    services: bool = True,
    console: Console | None = None,
) -> Stack:
    """Start a complete stack and return it once the gateway is up; stops what it started on failure."""
    stack = Stack(root, ports, env, var_dir, demo=demo, services=services, console=console)
    try:
        await stack.start()
    except BaseException:
        await stack.stop()
        raise
    return stack


# --- command line ------------------------------------------------------------------------------


def banner(stack: Stack) -> str:
    rule = "=" * 72
    lines = [rule]
    if any(c.name == "gateway" for c in stack.children):
        lines.append(f" GDST-Plattform läuft / is running:  {stack.url}")
    else:
        lines.append(" GDST-Plattform: Server laufen / servers are running (ohne Gateway / no gateway)")
    if stack.demo:
        lines.append(f" Demo-Logins: {' / '.join(DEMO_LOGINS)}")
        lines.append(f" Passwort / password: {DEMO_PASSWORD}")
    if stack.own_mailbox:
        lines.append(f" E-Mails (z. B. Einladungen) / mails: {stack.mail_dir}")
    else:
        smtp = f"{stack.env.get('SMTP_HOST', '')}:{stack.env.get('SMTP_PORT', '')}"
        lines.append(f" E-Mails gehen an / mails go to: {smtp}")
    lines.append(f" Logs: {stack.log_dir}")
    lines.append(" Beenden / stop: Ctrl-C")
    lines.append(rule)
    return "\n".join(lines)


async def _start_and_watch(stack: Stack) -> Child:
    await stack.start()
    stack.console.say(banner(stack))
    return await stack.wait()


async def run(stack: Stack) -> int:
    """Run until SIGINT/SIGTERM (exit 0) or until a process exits by itself (exit 1)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    first_signal: list[float] = []

    def on_signal(sig: signal.Signals) -> None:
        now = loop.time()
        if not first_signal:
            first_signal.append(now)
            stop.set()
        # Only a second Ctrl-C typed by a person skips the grace period. One SIGTERM often comes
        # twice: `make` passes it on to its child and `timeout` also signals the process group.
        elif sig == signal.SIGINT and now - first_signal[0] > 1.0 and not stack.hurry.is_set():
            stack.console.say("stopping at once")
            stack.hurry.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)

    runner = asyncio.create_task(_start_and_watch(stack))
    stopper = asyncio.create_task(stop.wait())
    code = 0
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            try:
                exited = runner.result()
            except StackError as exc:
                stack.console.say(f"FEHLER / ERROR: {exc}")
            else:
                stack.console.say(
                    f"FEHLER / ERROR: {exited.name} exited unexpectedly (code {exited.returncode}), "
                    f"see {exited.log_path}; stopping everything"
                )
            code = 1
        else:
            stack.console.say("stopping (press Ctrl-C again to kill at once) ...")
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, StackError):
                await runner
    finally:
        stopper.cancel()
        await stack.stop()
    stack.console.say("stopped" if code == 0 else "stopped after an error")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local", description="Start the GDST platform locally (Ctrl-C stops it)."
    )
    parser.add_argument(
        "--servers-only",
        action="store_true",
        help="start NATS, FerretDB, the mailbox and the demo data, but no services and no gateway",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    try:
        ports = Ports.from_env(env)
    except StackError as exc:
        print(f"deploy.local: {exc}", file=sys.stderr)
        return 2
    stack = Stack(ROOT, ports, env, services=not args.servers_only)
    return asyncio.run(run(stack))


if __name__ == "__main__":
    sys.exit(main())
