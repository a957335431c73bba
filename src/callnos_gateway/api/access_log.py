"""One access line per request, as JSON fields an operator can query.

gunicorn's own access log knows nothing of batches, upstream timings or
problem codes, so the app writes the line (gunicorn's is off). Only values the
gateway made or measured go in: never a header, a body, or the inbound key
(``client`` is the client's name, or for an unnamed key a 12-hex prefix of its
digest; see ``callnos_gateway.settings.clients.Client.label``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, request

from callnos_gateway.api.request_record import current
from callnos_gateway.api.traces import log_ids

log = logging.getLogger("callnos.access")


def install(app: Flask) -> None:
    """Write the access line after each request, from the request's record (``api.request_record``)."""
    app.after_request(_log_access)


def _log_access(response: Response) -> Response:
    log.info("%s %s %s", request.method, request.path, response.status_code, extra=access_fields(response))
    return response


def access_fields(response: Response) -> dict[str, Any]:
    """The fields of the access line for the current request."""
    facts = current()
    upstream_ms = facts.upstream_ms
    return {
        "request_id": facts.request_id,
        "batch_id": facts.batch_id,
        "client": facts.client.label if facts.client is not None else None,
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - facts.started) * 1000, 3),
        "upstream_status": facts.upstream_status,
        "upstream_ms": round(upstream_ms, 3) if upstream_ms is not None else None,
        "records": facts.records,
        "code": facts.problem_code,
        "replayed": facts.replayed,
        **log_ids(),  # trace_id, span_id: when the request is traced
    }
