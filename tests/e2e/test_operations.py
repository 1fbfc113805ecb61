"""Operations: metrics, request ids and trace context, seen from outside the processes.

The notifications service runs here as its own process (`python -m services.notifications`, as in
a container) with its health and metrics listener on, writing JSON logs to a file: what an
operator would scrape and read. The other services and the gateway run in the test as usual.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from services.contracts.notifications import Endpoints
from tests.conftest import Stack
from tests.support.servers import ROOT, free_port

KOMMUNE = "kommune-15003@gdst.example"


@dataclass
class Apart:
    """A service running as its own process."""

    url: str
    log: Path

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


async def _until(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.fixture
async def notifications_apart(stack: Stack, tmp_path: Path) -> AsyncIterator[Apart]:
    await stack.stop_service("notifications")
    s = stack.settings
    port = free_port()
    env = {
        **os.environ,
        "NATS_URL": s.nats_url,
        "MONGODB_URL": s.mongodb_url,
        "GDST_NAMESPACE": s.namespace,
        "SMTP_HOST": s.smtp_host,
        "SMTP_PORT": str(s.smtp_port),
        "PUBLIC_URL": s.public_url,
        "LOG_JSON": "1",
        "LOG_LEVEL": "INFO",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(port),
    }
    log_path = tmp_path / "notifications.log"
    with log_path.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.notifications", cwd=ROOT, env=env, stdout=out, stderr=out
        )
    apart = Apart(f"http://127.0.0.1:{port}", log_path)
    try:

        async def ready() -> bool:
            assert proc.returncode is None, log_path.read_text()
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    return (await client.get(f"{apart.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await _until(ready, "the notifications process to be ready")
        yield apart
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= set(lab))


async def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


class TestMetrics:
    async def test_probes_answer_and_counters_move_after_real_requests(
        self, stack: Stack, notifications_apart: Apart
    ) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            alive = await client.get(f"{notifications_apart.url}/healthz")
            ready = await client.get(f"{notifications_apart.url}/readyz")
            missing = await client.get(f"{notifications_apart.url}/nothing")
        assert alive.status_code == 200
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"nats": "ok", "endpoints": "ok", "database": "ok"}
        assert missing.status_code == 404

        service_before = await _scrape(notifications_apart.url)
        gateway_before = await _scrape(stack.base_url)

        member = await stack.login(KOMMUNE)
        for _ in range(2):
            assert (await member.get("/api/v1/notifications")).status_code == 200
        ministry = await stack.login()
        invited = await ministry.post(
            "/api/v1/invitations",
            json={
                "email": "mia.metrik@halle.example",
                "name": "Mia Metrik",
                "organisation_id": "15002",
                "roles": ["member"],
            },
        )
        assert invited.status_code == 201, invited.text
        await stack.mailbox.wait_for("mia.metrik@halle.example", timeout=60)

        async def mail_counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            found = await _scrape(notifications_apart.url)
            before = _value(service_before, "gdst_mails_total", outcome="sent")
            return found if _value(found, "gdst_mails_total", outcome="sent") >= before + 1 else None

        service_after = await _until(mail_counted, "the sent mail in the service's metrics")
        inbox = {"service": "notifications", "endpoint": Endpoints.INBOX, "outcome": "ok"}
        assert _value(service_after, "gdst_rpc_requests_total", **inbox) >= (
            _value(service_before, "gdst_rpc_requests_total", **inbox) + 2
        )
        assert _value(
            service_after, "gdst_rpc_request_duration_seconds_count", endpoint=Endpoints.INBOX
        ) >= 2 + _value(service_before, "gdst_rpc_request_duration_seconds_count", endpoint=Endpoints.INBOX)
        # lag of each durable consumer of this namespace, and the outbox backlog, are reported
        durables = {
            dict(labels)["consumer"]
            for (name, labels), _ in service_after.items()
            if name == "gdst_consumer_pending_messages"
            and dict(labels)["consumer"].startswith(stack.settings.namespace)
        }
        assert len(durables) >= 3, durables
        assert ("gdst_outbox_backlog_events", (("service", "notifications"),)) in service_after
        assert _value(service_after, "gdst_events_handled_total", outcome="ok") >= 1

        gateway_after = await _scrape(stack.base_url)
        route = {"route": "/api/v1/notifications", "method": "GET", "status": "200"}
        assert _value(gateway_after, "gdst_http_requests_total", **route) >= (
            _value(gateway_before, "gdst_http_requests_total", **route) + 2
        )
        created = {"route": "/api/v1/invitations", "method": "POST", "status": "201"}
        assert _value(gateway_after, "gdst_http_requests_total", **created) >= 1


class TestRequestIds:
    async def test_request_id_and_traceparent_reach_the_service_through_rpc_and_events(
        self, stack: Stack, notifications_apart: Apart
    ) -> None:
        member = await stack.login(KOMMUNE)
        request_id = "ops-test-" + secrets.token_hex(6)
        trace_id = secrets.token_hex(16)
        traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        response = await member.get(
            "/api/v1/notifications", headers={"X-Request-ID": request_id, "traceparent": traceparent}
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == request_id

        async def logged() -> list[dict[str, Any]]:
            return [r for r in notifications_apart.records() if r.get("request_id") == request_id]

        [record] = await _until(logged, "the service's log line for the request", timeout=30)
        assert record["process"] == "notifications"
        assert record["endpoint"] == Endpoints.INBOX
        assert record["outcome"] == "ok"
        # the service's span belongs to the trace the caller started
        assert record["trace_id"] == trace_id

        ministry = await stack.login()
        event_request = "ops-event-" + secrets.token_hex(6)
        invited = await ministry.post(
            "/api/v1/invitations",
            json={
                "email": "ida.id@halle.example",
                "name": "Ida Id",
                "organisation_id": "15002",
                "roles": ["member"],
            },
            headers={"X-Request-ID": event_request, "traceparent": traceparent},
        )
        assert invited.status_code == 201, invited.text

        async def handled() -> list[dict[str, Any]]:
            return [
                r
                for r in notifications_apart.records()
                if r.get("request_id") == event_request and r.get("consumer", "").endswith("invitations")
            ]

        # the directory's event carried the request's id and trace through JetStream to the mail consumer
        [handling] = await _until(handled, "the consumer's log line for the invitation", timeout=30)
        assert handling["msg"] == "event person.invited handled"
        assert handling["trace_id"] == trace_id

    async def test_spans_nest_from_the_caller_through_the_gateway_into_the_service(
        self, stack: Stack
    ) -> None:
        provider = trace.get_tracer_provider()
        assert isinstance(provider, TracerProvider), "the gateway installs the SDK provider"
        spans = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        try:
            member = await stack.login(KOMMUNE)
            trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
            response = await member.get(
                "/api/v1/notifications", headers={"traceparent": f"00-{trace_id}-{caller_span}-01"}
            )
            assert response.status_code == 200
            ours = [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]
        finally:
            spans.shutdown()
        [gateway] = [s for s in ours if s.name == "GET /api/v1/notifications"]
        [service] = [s for s in ours if s.name == f"rpc notifications.{Endpoints.INBOX}"]
        assert gateway.parent is not None and format(gateway.parent.span_id, "016x") == caller_span
        assert service.parent is not None and service.parent.span_id == gateway.context.span_id

    async def test_gateway_makes_a_request_id_when_none_or_a_bad_one_is_sent(self, stack: Stack) -> None:
        async with stack.client() as client:
            plain = await client.get("/healthz")
            bad = await client.get("/healthz", headers={"X-Request-ID": "zwei Woerter; und <mehr>"})
        for response in (plain, bad):
            made = response.headers["x-request-id"]
            assert len(made) == 32 and int(made, 16) >= 0
        assert plain.headers["x-request-id"] != bad.headers["x-request-id"]
