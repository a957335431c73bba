"""Prometheus metrics: what ops graph and alert on, correct under several workers.

Under gunicorn, ``python:callnos_gateway.server.gunicorn_config`` sets ``PROMETHEUS_MULTIPROC_DIR`` before
this module is imported, so every worker writes its values to files there and
``/metrics`` sums them, whichever worker answers the scrape. Without it (tests,
one process) the values live in memory and the default registry serves them.

Labels stay bounded: the route is its declared path (``/v1/call-data``, from
``callnos_gateway.api.routes``; other rules their URL rule, e.g. ``/readyz``),
never the raw path, and requests that matched no rule are ``unmatched``; the
client is its configured name (an unnamed ``CALLNOS_API_KEYS`` key: a 12-hex prefix of
its digest), ``none`` before a key was accepted, so a stranger's guesses add no
label.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, current_app, request
from flask_smorest import Blueprint
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from callnos_gateway.errors import UpstreamError
from callnos_gateway.api.request_record import RequestRecord, current, peek
from callnos_gateway.api.routes import route_for
from callnos_gateway.telemetry.metrics_dir import ENV as MULTIPROC_ENV

PREFIX = "callnos_gateway_"
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TOKEN_EVENTS = ("login", "refresh")


def _codes(kind: type[UpstreamError]) -> set[str]:
    return {kind.code}.union(*(_codes(sub) for sub in kind.__subclasses__()))


UPSTREAM_CODES = sorted(_codes(UpstreamError))

REQUESTS = Counter(PREFIX + "requests", "Requests answered, by URL rule, method, status and client.",
                   ["route", "method", "status", "client"])
NO_CLIENT = "none"
UNMATCHED = "unmatched"
REQUEST_SECONDS = Histogram(PREFIX + "request_duration_seconds", "Time to answer a request.",
                            ["route"], buckets=SECONDS)
UPSTREAM_SECONDS = Histogram(PREFIX + "upstream_duration_seconds", "Time of an upstream exchange (any interface), failed ones included.",
                             buckets=SECONDS)
RECORDS = Counter(PREFIX + "records", "Records handed out to clients.")
TOKENS = Counter(PREFIX + "token_events", "Upstream logins and token refreshes.", ["event"])
TOKEN_STORE_ERRORS = Counter(PREFIX + "token_store_errors", "Token store failures; each makes one worker use "
                             "a token of its own for a while.")
UPSTREAM_ERRORS = Counter(PREFIX + "upstream_errors", "Upstream failures, by problem code.", ["code"])
IN_FLIGHT = Gauge(PREFIX + "in_flight", "Requests being answered now.", multiprocess_mode="livesum")

for _event in TOKEN_EVENTS:
    TOKENS.labels(_event)  # show zeros from the start, so rate() works on the first event
for _code in UPSTREAM_CODES:
    UPSTREAM_ERRORS.labels(_code)

# app.extensions key: collectors read at each scrape (e.g. from a shared store, so deployment-wide)
SCRAPE_TIME = "callnos_scrape_time_collectors"

blp = Blueprint("metrics", __name__, description="Prometheus metrics")
TEXT_CONTENT = {"text/plain": {"schema": {"type": "string"}}}


@blp.route("/metrics")
@blp.doc(responses={200: {"description": "Prometheus text format 0.0.4.", "content": TEXT_CONTENT}})
def metrics() -> Response:
    """All workers' metrics in Prometheus text format (no key needed)."""
    body = generate_latest(_registry()) + generate_latest(_scrape_time_registry())
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _scrape_time_registry() -> CollectorRegistry:
    """A fresh registry of the app's scrape-time collectors (never the global one: several apps may run)."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in current_app.extensions.get(SCRAPE_TIME, ()):
        registry.register(collector)
    return registry



def _registry() -> CollectorRegistry:
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def count_token_event(event: str) -> None:
    """Count an upstream login or refresh, or a token store failure (``UpstreamApi``'s ``on_token_event``)."""
    if event == "store_error":
        TOKEN_STORE_ERRORS.inc()
    else:
        TOKENS.labels(event).inc()


def install(app: Flask) -> None:
    """Count every request the app answers, from the request's record (``api.request_record``)."""
    app.before_request(_enter)
    app.after_request(_observe)
    app.teardown_request(_leave)


def _enter() -> None:
    IN_FLIGHT.inc()
    current().in_flight = True


def _leave(error: BaseException | None) -> None:
    facts = peek()
    if facts is not None and facts.in_flight:
        facts.in_flight = False
        IN_FLIGHT.dec()


def _observe(response: Response) -> Response:
    facts = current()
    method = request.method if request.method in METHODS else "other"
    client = facts.client.label if facts.client is not None else NO_CLIENT
    label = route_label()
    REQUESTS.labels(label, method, str(response.status_code), client).inc()
    REQUEST_SECONDS.labels(label).observe(time.perf_counter() - facts.started)
    _observe_upstream(facts)
    return response


def route_label() -> str:
    """The route label: a declared route's path, another rule's text, or ``unmatched``."""
    rule = request.url_rule
    if rule is None:
        return UNMATCHED
    route = route_for(rule.rule)
    return route.path if route is not None else rule.rule


def _observe_upstream(facts: RequestRecord) -> None:
    if facts.upstream_ms is not None:
        UPSTREAM_SECONDS.observe(facts.upstream_ms / 1000)
    if facts.records:
        RECORDS.inc(facts.records)
    code = facts.problem_code or ""
    if code.startswith("upstream_"):
        UPSTREAM_ERRORS.labels(code).inc()
