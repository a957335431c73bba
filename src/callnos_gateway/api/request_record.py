"""What the gateway learns about one request while serving it, in one typed place.

Several steps each add a fact (the client, the batch id, the upstream's
status and timing, the problem code) and the access line, the log filter and
the metrics read them after the view. One dataclass under one ``g``
attribute says which facts exist, who writes each and who reads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import g, request

from callnos_gateway.api.inbound import request_id_from

if TYPE_CHECKING:
    from callnos_gateway.api.traces import RequestTrace
    from callnos_gateway.settings.clients import Client
    from callnos_gateway.stores.quotas import QuotaState

ATTRIBUTE = "callnos_request"
REQUEST_ID_HEADER = "X-Request-ID"


@dataclass
class RequestRecord:
    """The facts of one request; every field names its writer and its readers."""

    request_id: str
    """Written by ``begin`` (the client's ``X-Request-ID`` or a new one); read by every
    problem body, the ``X-Request-ID`` answer header, the upstream call, the access line and the log filter."""

    started: float = field(default_factory=time.perf_counter)
    """Written by ``begin``; read by the access line (``duration_ms``) and the request-duration metric."""

    client: Client | None = None
    """Written by ``api.authorise`` once the key is accepted; read by authorisation's task checks,
    the idempotency key scope (``key_id``), the access line and the metrics' client label."""

    batch_id: str | None = None
    """Written by the call-data view before the upstream call, or by an idempotent replay; read by
    problem bodies, the dead letters of a bad answer, the access line and the log filter."""

    upstream_status: int | None = None
    """Written by ``api.v1.from_upstream`` (the reply's status) or the problem handler (a non-2xx
    answer's); read by the access line."""

    upstream_ms: float | None = None
    """Written by ``api.v1.from_upstream`` (the exchange's time, failed ones too); read by the access
    line and the upstream-duration metric."""

    records: int | None = None
    """Written by the call-data view (records handed out); read by the access line and the records metric."""

    problem_code: str | None = None
    """Written by ``api.problems`` for any problem answer; read by the access line and the upstream-errors metric."""

    replayed: bool = False
    """Written by an idempotent replay; read by the access line (``replayed``)."""

    quotas: list[QuotaState] = field(default_factory=list)
    """Written by ``api.quotas`` once the client's quotas are counted; read by it to set the
    ``RateLimit`` and ``RateLimit-Policy`` fields on the answer."""

    in_flight: bool = False
    """Written by the metrics when the in-flight gauge went up; read by them to bring it down once."""

    task: str | None = None
    """Written by ``api.v1.for_task`` (the validated task id); read by the request's trace span."""

    trace: RequestTrace | None = None
    """Written by ``api.traces`` when tracing is on (the request's span); read by it, the upstream
    exchanges' spans (their parent) and the access line (``trace_id``, ``span_id``)."""


def begin() -> RequestRecord:
    """Start the record of the current request (the app's first ``before_request``)."""
    record = RequestRecord(request_id=request_id_from(request.headers.get(REQUEST_ID_HEADER)))
    setattr(g, ATTRIBUTE, record)
    return record


def current() -> RequestRecord:
    """The current request's record; begun here if no ``before_request`` ran (an early failure)."""
    record = peek()
    return record if record is not None else begin()


def peek() -> RequestRecord | None:
    """The current request's record if it was begun, without beginning one (the log filter)."""
    return g.get(ATTRIBUTE)
