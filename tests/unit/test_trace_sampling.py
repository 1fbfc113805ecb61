"""Spans are recorded when somebody reads them: with an exporter, or for a caller's sampled trace.
Either way every request gets trace ids that travel on, so logs can be joined by trace id."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from services.runtime import telemetry
from services.runtime.telemetry import provider_for

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _span(
    provider: TracerProvider, traceparent: str | None
) -> tuple[bool, trace.SpanContext, dict[str, str]]:
    """Whether a request's span records, its ids, and the headers an RPC made in it carries."""
    tracer = provider.get_tracer("test")
    context = propagate.extract({"traceparent": traceparent}) if traceparent else None
    with tracer.start_as_current_span("GET /x", context=context) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return span.is_recording(), span.get_span_context(), carrier


def test_without_an_exporter_a_new_trace_is_not_recorded_but_has_ids_that_travel() -> None:
    recording, ctx, carrier = _span(provider_for("gateway", {}), None)
    assert not recording
    assert ctx.is_valid and not ctx.trace_flags.sampled
    assert carrier["traceparent"].startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")


def test_a_callers_sampled_trace_is_recorded_and_continued() -> None:
    recording, ctx, carrier = _span(provider_for("gateway", {}), f"00-{CALLER_TRACE}-00f067aa0ba902b7-01")
    assert recording and ctx.trace_flags.sampled
    assert carrier["traceparent"].startswith(f"00-{CALLER_TRACE}-{ctx.span_id:016x}-")


def test_with_an_exporter_every_trace_is_recorded() -> None:
    provider = provider_for("gateway", {"OTEL_TRACES_EXPORTER": "console"})
    try:
        assert _span(provider, None)[0]
    finally:
        provider.shutdown()


def test_the_sampler_variable_still_decides() -> None:
    assert _span(provider_for("gateway", {"OTEL_TRACES_SAMPLER": "always_on"}), None)[0]


def test_an_unsampled_request_continues_the_callers_trace_with_a_span_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # as `configure` sets it up without an exporter: such spans are made without the SDK's tracer
    monkeypatch.setattr(telemetry, "_unsampled_ids", RandomIdGenerator())
    caller_span = "00f067aa0ba902b7"
    headers = {"traceparent": f"00-{CALLER_TRACE}-{caller_span}-00", "X-Request-ID": "req-1"}
    with telemetry.incoming("rpc surveys.save", headers) as span:
        ctx = span.get_span_context()
        onward = telemetry.outgoing_headers()
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        telemetry.ContextFilter().filter(record)
    assert not span.is_recording()
    assert f"{ctx.trace_id:032x}" == CALLER_TRACE and f"{ctx.span_id:016x}" != caller_span
    assert onward == {"X-Request-ID": "req-1", "traceparent": f"00-{CALLER_TRACE}-{ctx.span_id:016x}-00"}
    assert (
        getattr(record, "trace_id", None) == CALLER_TRACE and getattr(record, "request_id", None) == "req-1"
    )
    # nothing of the request is left current after it
    assert not trace.get_current_span().get_span_context().is_valid
    assert telemetry.request_id.get() is None


def test_a_request_without_a_trace_starts_one_that_travels_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_unsampled_ids", RandomIdGenerator())
    with telemetry.incoming("GET /x", {}, new_request_id=True) as span:
        ctx = span.get_span_context()
        onward = telemetry.outgoing_headers()
    assert ctx.is_valid and not ctx.trace_flags.sampled
    assert onward["traceparent"] == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-00"
    assert onward["X-Request-ID"]


def test_only_a_process_without_exporter_and_sampler_takes_the_short_way() -> None:
    assert telemetry._only_sampled_parents({})
    assert not telemetry._only_sampled_parents({"OTEL_TRACES_EXPORTER": "console"})
    assert not telemetry._only_sampled_parents({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not telemetry._only_sampled_parents({"OTEL_TRACES_SAMPLER": "always_on"})
