"""OpenTelemetry traces: off unless an exporter is configured, started in each worker after the fork.

Configured by the standard ``OTEL_*`` variables only. Tracing is on when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or
``OTEL_TRACES_EXPORTER`` is set (``none`` or ``OTEL_SDK_DISABLED=true``: off).
Spans go out over OTLP/HTTP (protobuf), or to stdout with
``OTEL_TRACES_EXPORTER=console``; the SDK reads the rest (sampler,
``OTEL_BSP_*`` batching, ``OTEL_SERVICE_NAME``, exporter headers and timeout).

Why after the fork: the SDK's ``BatchSpanProcessor`` owns a thread and a lock.
Made in gunicorn's master, a worker would inherit the lock but not the thread,
and its spans would never leave (opentelemetry-python #4025). ``start`` is
called by each worker once gevent has patched it (gunicorn's
``post_worker_init``), so the exporter's thread is a greenlet of that worker.

Why nothing is imported while off: this module imports no OpenTelemetry code
at its top, and the request hooks ask ``active()`` first: tracing off costs a
function call per request and per upstream call.

Why contexts do not mix between greenlets: the current span lives in a
``contextvars`` variable, and every greenlet (greenlet >= 1.0, which gevent
uses) runs in a context of its own; gevent's patching leaves ``contextvars``
alone. A request's greenlet sees its own span and no other.

What a span may carry is decided by its caller (``callnos_gateway.api.traces``):
names, ids, counts and statuses; never a header value, a body or a key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

TRACER_NAME = "callnos_gateway"
DEFAULT_SERVICE = "callnos-gateway"
EXPORTERS = ("otlp", "console", "none")
PROTOCOLS = ("http/protobuf",)  # the exporter this package ships
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")

_tracer: Any = None
_provider: Any = None


def _value(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip().lower()


def requested(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the environment asks for traces (an endpoint or an exporter, and the SDK not disabled)."""
    if _value(environ, "OTEL_SDK_DISABLED") == "true" or _value(environ, "OTEL_TRACES_EXPORTER") == "none":
        return False
    return bool(_value(environ, "OTEL_TRACES_EXPORTER")) or any(_value(environ, name) for name in ENDPOINT_VARIABLES)


def problems(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The OTEL_* settings this package cannot honour, each with why (checked in the master, before start)."""
    found: dict[str, str] = {}
    exporter = _value(environ, "OTEL_TRACES_EXPORTER")
    if exporter and exporter not in EXPORTERS:
        found["OTEL_TRACES_EXPORTER"] = f"must be one of {', '.join(EXPORTERS)}"
    for name in PROTOCOL_VARIABLES:
        if _value(environ, name) and _value(environ, name) not in PROTOCOLS:
            found[name] = f"must be {' or '.join(PROTOCOLS)} (the OTLP exporter shipped is HTTP)"
    return found


def active() -> bool:
    """True once ``start`` made a tracer in this process."""
    return _tracer is not None


def start(environ: Mapping[str, str] = os.environ) -> bool:
    """Make this process's tracer provider and exporter if traces are requested; True when tracing is on."""
    global _tracer, _provider
    if _tracer is not None or not requested(environ):
        return _tracer is not None
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = _value(environ, "OTEL_SERVICE_NAME") or "service.name" in environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": DEFAULT_SERVICE}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(_value(environ, "OTEL_TRACES_EXPORTER") or "otlp")))
    trace.set_tracer_provider(provider)
    _provider, _tracer = provider, provider.get_tracer(TRACER_NAME)
    return True


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def stop() -> None:
    """Send the spans still queued and stop the exporter (a worker's exit)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def begin_server_span(name: str, headers: Mapping[str, str]) -> tuple[Any, object]:
    """Start a request's span, continuing an inbound ``traceparent``; make it current. Returns (span, token)."""
    from opentelemetry import context, propagate, trace

    parent = propagate.extract(headers)
    span = _tracer.start_span(name, context=parent, kind=trace.SpanKind.SERVER)
    return span, context.attach(trace.set_span_in_context(span, parent))


def end_server_span(span: Any, token: object, failure: BaseException | None) -> None:
    """End a request's span (an escaped exception marks it failed) and restore the context before it."""
    from opentelemetry import context

    if failure is not None:
        mark_failed(span, type(failure).__name__)
    span.end()
    context.detach(token)


def mark_failed(span: Any, why: str) -> None:
    """Give a span the ERROR status, with a short reason (a problem code, an HTTP status)."""
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, why))


# What the transport notes on an exchange's span, by the attribute name it gets.
CLIENT_NOTES = {"status": "http.response.status_code", "attempts": "callnos.upstream.attempts"}


class ClientSpan:
    """One upstream exchange's span: the headers that carry it upstream, and what it learned."""

    __slots__ = ("span", "headers")

    def __init__(self, span: Any, headers: dict[str, str]) -> None:
        self.span, self.headers = span, headers

    def note(self, **facts: Any) -> None:
        """Add the transport's facts (``CLIENT_NOTES``) as attributes; an HTTP error status fails the span."""
        self.span.set_attributes({CLIENT_NOTES[name]: value for name, value in facts.items()})
        if facts.get("status", 0) >= 400:
            mark_failed(self.span, f"HTTP {facts['status']}")

    def failed(self, code: str) -> None:
        """The exchange failed with this problem code (no answer, or an unreadable one)."""
        mark_failed(self.span, code)


@contextlib.contextmanager
def client_span(name: str, attributes: Mapping[str, Any]) -> Iterator[ClientSpan]:
    """A child span of the current one for an upstream call, with the ``traceparent`` to send along."""
    from opentelemetry import propagate, trace

    with _tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes,
                                       record_exception=False, set_status_on_exception=False) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield ClientSpan(span, carrier)


def log_ids(span: Any) -> dict[str, str]:
    """The ``trace_id`` and ``span_id`` of a span, as the hex an access line and a trace viewer show."""
    found = span.get_span_context()
    return {"trace_id": format(found.trace_id, "032x"), "span_id": format(found.span_id, "016x")}
