"""The one place any error becomes an RFC 9457 problem+json answer.

Gateway errors carry their own status and code; werkzeug's HTTP errors
(404, 405, 413) are mapped here; anything else is logged with its traceback
and answered as a bare 500 so no internal detail, secret or trace leaks.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from callnos_gateway.errors import GatewayError, RequestInProgress, Unauthorized
from callnos_gateway.api.request_record import current

log = logging.getLogger("callnos.problems")

from callnos_gateway.errors import PROBLEM_TYPE  # noqa: E402 (the worker's 408 answer uses it too)
HTTP_CODES = {
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
}
WWW_AUTHENTICATE = 'ApiKey realm="callnos-gateway", header="X-API-Key"'


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    """Build a problem+json response."""
    facts = current()
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status, "detail": detail, "code": code}
    if facts.request_id:
        body["request_id"] = facts.request_id
    if facts.batch_id:  # once the upstream was called
        body["batch_id"] = facts.batch_id
    body.update(extra)
    response = Response(orjson.dumps(body), status=status, mimetype="application/problem+json")
    facts.problem_code = code
    return response


def handle_gateway_error(error: GatewayError) -> Response:
    """Answer a gateway error with its own status and code."""
    response = problem(error.status, error.code, error.title, error.detail, **error.extra)
    if "upstream_status" in error.extra:
        current().upstream_status = error.extra["upstream_status"]  # for the access line
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    if isinstance(error, RequestInProgress):
        response.headers["Retry-After"] = "1"
    if (retry_after := getattr(error, "retry_after", None)) is not None:  # 429 and 503s of upstream protection
        response.headers["Retry-After"] = str(retry_after)
    return response


def handle_http_exception(error: HTTPException) -> Response:
    """Answer werkzeug's routing and size errors as problems."""
    status = error.code or 500
    code, title = HTTP_CODES.get(status, (f"http_{status}", error.name))
    response = problem(status, code, title, error.description or title)
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response


def handle_unexpected(error: Exception) -> Response:
    """Log the traceback for ops; the client gets no detail of it."""
    log.exception("unhandled error")
    return problem(500, "internal_error", "Internal error", "The gateway failed unexpectedly; see its logs.")


def register_problem_handlers(app: Flask) -> None:
    """Install the handlers (after flask-smorest's, so these win)."""
    app.register_error_handler(GatewayError, handle_gateway_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
