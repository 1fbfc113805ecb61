"""Load generator: a separate process that sends prepared HTTP/1.1 requests over keep-alive
loopback connections and reports latencies, statuses and its own CPU use.

    .venv/bin/python -m bench.load SPEC.json      # prints a JSON report on stdout

The spec holds `port`, `concurrency` and `jobs`; a job is a list of requests sent one after
another on one connection (a draft save and then its submit), jobs run `concurrency` at a time.
Requests are written as raw bytes and responses parsed by hand: an HTTP client library would
cost the generator more CPU than the server it measures on a 2-core machine.

The report's `done_at` lists, per request, `time.monotonic()` when its answer arrived
(CLOCK_MONOTONIC is one clock for all processes on Linux, so the parent can compare it with
the arrival of live result events).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time

import msgspec
import uvloop


class Call(msgspec.Struct):
    method: str
    path: str
    headers: dict[str, str] = {}
    body: str | None = None


class Spec(msgspec.Struct):
    port: int
    jobs: list[list[Call]]
    concurrency: int = 64
    host: str = "127.0.0.1"
    ok: list[int] = msgspec.field(default_factory=lambda: [200, 201, 204])
    timeout: float = 60.0
    # stop starting new jobs after this many seconds (the run stays bounded; what was sent is reported)
    max_seconds: float | None = None


class Report(msgspec.Struct):
    requests: int
    jobs: int
    ok: int
    statuses: dict[str, int]
    wall_s: float
    cpu_s: float
    # CPU time of the whole machine during the phase (every process, this one included)
    machine_cpu_s: float
    latencies_ms: list[float]
    done_at: list[float]
    errors: list[str]


_TICKS = os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine since boot (user, nice, system, irq, softirq, steal
    from /proc/stat): the difference over a phase is what every process together used."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7))
    return busy / _TICKS


def process_cpu_s(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user and system) each named process has used so far, from /proc/<pid>/stat;
    processes that are gone are left out."""
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = (int(fields[11]) + int(fields[12])) / _TICKS
    return out


def encode(call: Call, host: str) -> bytes:
    body = (call.body or "").encode()
    lines = [f"{call.method} {call.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in call.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() != "close"


async def run(spec: Spec) -> Report:
    queue: asyncio.Queue[list[Call]] = asyncio.Queue()
    for job in spec.jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    done_at: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    ok_codes = set(spec.ok)
    jobs_started: list[int] = []
    start = time.monotonic()

    async def worker() -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while not queue.empty():
                if spec.max_seconds is not None and time.monotonic() - start > spec.max_seconds:
                    return
                job = queue.get_nowait()
                jobs_started.append(1)
                for call in job:
                    data = encode(call, spec.host)
                    started = time.monotonic()
                    try:
                        if conn is None:
                            conn = await asyncio.open_connection(spec.host, spec.port)
                        reader, writer = conn
                        writer.write(data)
                        status, body, keep = await asyncio.wait_for(read_response(reader), spec.timeout)
                    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                        statuses["error"] = statuses.get("error", 0) + 1
                        if len(errors) < 5:
                            errors.append(f"{call.method} {call.path}: {exc!r}")
                        if conn is not None:
                            conn[1].close()
                        conn = None
                        break  # the rest of this job depends on the failed request
                    finished = time.monotonic()
                    latencies.append((finished - started) * 1000)
                    done_at.append(finished)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                    if status not in ok_codes and len(errors) < 5:
                        errors.append(f"{call.method} {call.path}: {status} {body[:300]!r}")
                    if not keep:
                        conn[1].close()
                        conn = None
        finally:
            if conn is not None:
                conn[1].close()

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    machine0 = machine_cpu_s()
    await asyncio.gather(*(worker() for _ in range(min(spec.concurrency, len(spec.jobs)) or 1)))
    wall = time.monotonic() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    machine = machine_cpu_s() - machine0
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return Report(
        requests=sum(statuses.values()),
        jobs=len(jobs_started),
        ok=sum(n for s, n in statuses.items() if s.isdigit() and int(s) in ok_codes),
        statuses=statuses,
        wall_s=wall,
        cpu_s=cpu,
        machine_cpu_s=machine,
        latencies_ms=latencies,
        done_at=done_at,
        errors=errors,
    )


def main() -> None:
    with open(sys.argv[1], "rb") as handle:
        spec = msgspec.json.decode(handle.read(), type=Spec)
    # uvloop, as the gateway and the services run on: with asyncio's own loop the generator spent
    # a third more CPU per request, taken from the two cores the platform is measured on
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(run(spec))
    sys.stdout.write(json.dumps(msgspec.to_builtins(report)))


if __name__ == "__main__":
    main()
