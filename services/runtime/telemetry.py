"""Request ids and W3C trace context, carried from the gateway through NATS headers to the services.

The gateway takes a request id from `X-Request-ID` (or makes one), returns it, and every RPC it
sends carries it together with `traceparent`/`tracestate`. A service reads both back before it
handles the request, so its log lines name the same request id and trace id as the gateway's.

Tracing uses the OpenTelemetry SDK so that trace ids exist even without an incoming trace; spans
leave the process only when the environment names an exporter (`OTEL_TRACES_EXPORTER=otlp` or
`console`, or `OTEL_EXPORTER_OTLP_ENDPOINT`). Otherwise nothing is sent anywhere, and only a
caller's sampled trace is recorded.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind

from services.runtime import ids

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# what we accept from outside: enough for UUIDs and the ids of common proxies, nothing that could
# break a log line or a header
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id: ContextVar[str | None] = ContextVar("gdst_request_id", default=None)

_configured = False
# set by `configure` when only a caller's sampled trace is recorded: the ids of the other spans
# are made here directly (see `incoming`)
_unsampled_ids: IdGenerator | None = None


def _exporter_from_env(env: Mapping[str, str]) -> SpanExporter | None:
    choice = _exporter_choice(env)
    if choice in ("", "none"):
        return None
    if choice == "console":
        return ConsoleSpanExporter()
    if choice == "otlp":
        try:
            # optional dependency (extra `otlp`): only a deployment that exports needs it
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
        except ImportError:
            log.warning("OTEL_TRACES_EXPORTER=otlp but opentelemetry-exporter-otlp-proto-http is missing")
            return None
        exporter: SpanExporter = OTLPSpanExporter()
        return exporter
    log.warning("unknown OTEL_TRACES_EXPORTER %r: traces are not exported", choice)
    return None


def configure(process_name: str, env: Mapping[str, str] | None = None) -> None:
    """Install the tracer provider once per Python process (the first caller names it)."""
    global _configured
    if _configured:
        return
    _configured = True
    e = os.environ if env is None else env
    provider = provider_for(process_name, e)
    trace.set_tracer_provider(provider)
    global _unsampled_ids
    _unsampled_ids = provider.id_generator if _only_sampled_parents(e) else None


def _only_sampled_parents(e: Mapping[str, str]) -> bool:
    """Whether a span is recorded only when the caller's trace is sampled (no exporter, no
    sampler chosen): then an unsampled request's span needs ids and nothing else."""
    return _exporter_choice(e) in ("", "none") and not e.get("OTEL_TRACES_SAMPLER")


def _exporter_choice(e: Mapping[str, str]) -> str:
    choice = (e.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if not choice and e.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        choice = "otlp"
    return choice


def provider_for(process_name: str, e: Mapping[str, str]) -> TracerProvider:
    exporter = _exporter_from_env(e)
    # Without an exporter nobody reads the spans: a trace begun here is not recorded (its ids are
    # still made and passed on, so logs and the services see the same trace id), while a caller's
    # sampled trace still is. Recording every span cost a few per cent of each process's CPU
    # (docs/performance.md #35). OTEL_TRACES_SAMPLER, when set, decides as usual.
    sampler: Sampler | None = None
    if exporter is None and not e.get("OTEL_TRACES_SAMPLER"):
        sampler = ParentBased(ALWAYS_OFF)
    provider = TracerProvider(
        resource=Resource.create({"service.name": e.get("OTEL_SERVICE_NAME") or f"gdst-{process_name}"}),
        sampler=sampler,
    )
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


@functools.cache
def tracer() -> trace.Tracer:
    """One per process: `get_tracer` builds a new tracer on every call, which was a twentieth of
    the gateway's CPU per ballot (docs/performance.md, #45). Made before `configure`, it is the
    API's proxy, which follows the provider set later."""
    return trace.get_tracer("gdst")


def accept_request_id(value: str | None) -> str:
    """The caller's request id if it is a sane one, else a new one."""
    if value and _REQUEST_ID.match(value):
        return value
    return ids.new_id()


def outgoing_headers() -> dict[str, str]:
    """Headers for a NATS message sent on behalf of the current request."""
    headers: dict[str, str] = {}
    rid = request_id.get()
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    propagate.inject(headers)
    return headers


@contextlib.contextmanager
def incoming(
    name: str,
    headers: Mapping[str, str] | None,
    *,
    kind: SpanKind = SpanKind.SERVER,
    attributes: Mapping[str, str] | None = None,
    new_request_id: bool = False,
) -> Iterator[Span]:
    """Handle a request that arrived with these headers: its request id and a span whose parent is
    the caller's trace context are current inside the block."""
    found = dict(headers or {})
    rid_in = found.get(REQUEST_ID_HEADER) or found.get(REQUEST_ID_HEADER.lower())
    rid = accept_request_id(rid_in) if (rid_in or new_request_id) else None
    token = request_id.set(rid)
    try:
        parent = propagate.extract(found)
        caller = trace.get_current_span(parent).get_span_context()
        if _unsampled_ids is not None and not caller.trace_flags.sampled:
            # what the SDK would make, a span that records nothing, without its sampler, span
            # builder and context manager layers: a third of the cost, paid by every request
            # in every process (docs/performance.md #78)
            ids = _unsampled_ids
            span: Span = NonRecordingSpan(
                SpanContext(
                    caller.trace_id if caller.is_valid else ids.generate_trace_id(),
                    ids.generate_span_id(),
                    is_remote=False,
                    trace_flags=caller.trace_flags,
                    trace_state=caller.trace_state,
                )
            )
            attached = otel_context.attach(trace.set_span_in_context(span, parent))
            try:
                yield span
            finally:
                otel_context.detach(attached)
            return
        with tracer().start_as_current_span(
            name, context=parent, kind=kind, attributes=dict(attributes or {})
        ) as span:
            yield span
    finally:
        request_id.reset(token)


class ContextFilter(logging.Filter):
    """Adds the current request id and trace id to every log record made while handling a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id.get()
        if rid and not hasattr(record, "request_id"):
            record.request_id = rid
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True
