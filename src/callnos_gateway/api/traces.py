"""Where requests and upstream exchanges meet the tracer (``callnos_gateway.telemetry.tracing``).

One server span per request, begun before the key is checked (a refusal is
traced too) and ended at teardown, continuing the client's ``traceparent``;
one client span per upstream exchange (login and refresh included), child of
the request's. Attributes are the facts of the request's record
(``api.request_record``) that the access line already shows: route, client
name, task id, batch id, record count, upstream status and problem code,
never a header value, body, phone number or key. While tracing is off each
hook returns after one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ContextManager

from flask import Flask, Response, has_request_context, request

from callnos_gateway.api.metrics import route_label
from callnos_gateway.api.request_record import RequestRecord, current, peek
from callnos_gateway.telemetry import tracing

Spans = Callable[[str], ContextManager[Any]]


@dataclass
class RequestTrace:
    """A request's span, the context token to restore at its end, and its upstream exchanges so far."""

    span: Any
    token: object
    upstream_calls: int = 0


def install(app: Flask, transport: Any, paths: dict[str, str]) -> None:
    """Trace the app's requests and the transport's exchanges (each a no-op while tracing is off)."""
    app.before_request(_begin)
    app.after_request(_describe)
    app.teardown_request(_end)
    transport.spans = traced_exchanges({path: name for name, path in paths.items()}, transport.spans)


def _begin() -> None:
    if tracing.active():
        span, token = tracing.begin_server_span(f"{request.method} {route_label()}", request.headers)
        current().trace = RequestTrace(span, token)


def _describe(response: Response) -> Response:
    facts = current()
    if facts.trace is not None:
        facts.trace.span.set_attributes(_attributes(facts, response.status_code))
        if response.status_code >= 500:
            tracing.mark_failed(facts.trace.span, facts.problem_code or f"HTTP {response.status_code}")
    return response


def _attributes(facts: RequestRecord, status: int) -> dict[str, Any]:
    found = {
        "http.request.method": request.method,
        "http.route": route_label(),
        "http.response.status_code": status,
        "callnos.request_id": facts.request_id,
        "callnos.client": facts.client.label if facts.client is not None else None,
        "callnos.task": facts.task,
        "callnos.batch_id": facts.batch_id,
        "callnos.records": facts.records,
        "callnos.upstream.status": facts.upstream_status,
        "callnos.upstream.calls": facts.trace.upstream_calls,
        "callnos.problem": facts.problem_code,
        "callnos.replayed": facts.replayed or None,
    }
    return {name: value for name, value in found.items() if value is not None}


def _end(failure: BaseException | None) -> None:
    facts = peek()
    if facts is not None and facts.trace is not None:
        trace, facts.trace = facts.trace, None
        tracing.end_server_span(trace.span, trace.token, failure)


def traced_exchanges(names: dict[str, str], untraced: Spans) -> Spans:
    """``Transport.spans``: a client span named after the interface whose path is called."""

    def spans(path: str) -> ContextManager[Any]:
        if not tracing.active():
            return untraced(path)
        facts = peek() if has_request_context() else None
        if facts is not None and facts.trace is not None:
            facts.trace.upstream_calls += 1
        name = names.get(path, "call")
        attributes = {"callnos.interface": name, "http.request.method": "POST", "url.path": path}
        return tracing.client_span(f"upstream {name}", attributes)

    return spans


def log_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` for the access line, when the request is traced."""
    facts = peek()
    return tracing.log_ids(facts.trace.span) if facts is not None and facts.trace is not None else {}
