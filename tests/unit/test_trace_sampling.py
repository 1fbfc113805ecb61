"""Spans are recorded when somebody reads them: with an exporter, or for a caller's sampled trace.
Either way every request gets trace ids that travel on, so logs can be joined by trace id."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider

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
