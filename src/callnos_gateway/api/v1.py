"""What every ``/v1`` route shares: the inbound key, the route's name, its problems, its upstream call.

Each route module makes its blueprint with ``v1_blueprint(route, ...)``; the
key and scope check of every ``/v1`` route runs before it (``callnos_gateway.api.authorise``),
and a view that knows its task checks it with ``for_task`` once the request
is valid and before the upstream is called. Views stay thin:
validate, call one ``UpstreamApi`` method through ``from_upstream``, render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from flask import Response
from flask_smorest import Blueprint
from marshmallow import ValidationError

from callnos_gateway.errors import InvalidRequest, UpstreamBadResponse, UpstreamError
from callnos_gateway.upstream.obs.exchange import Answered
from callnos_gateway.api.schemas.answers import ProblemSchema
from callnos_gateway.api.authorise import require_task
from callnos_gateway.api.request_record import current
from callnos_gateway.api.services import current_gateway

T = TypeVar("T")
PROBLEM_JSON = "application/problem+json"
SECURITY = [{"ApiKey": []}]
PROBLEMS = {
    400: "Body or parameters invalid (`errors` names each field); or Idempotency-Key not 1..255 printable ASCII.",
    401: "X-API-Key missing or wrong.",
    403: "The key's client may not use this route, or not this task_id (missing_scope says which); nothing was sent.",
    409: "A request with the same Idempotency-Key is still being answered; retry later with the same key.",
    413: "Body over CALLNOS_MAX_BODY_BYTES.",
    422: "The Idempotency-Key was used with a different request body.",
    502: "Upstream unreachable, refused credentials, failed, rejected or answered badly.",
    503: "The idempotency store is unavailable (only requests with an Idempotency-Key).",
    504: "Upstream did not answer in time.",
}
KEPT = " The answer was kept for recovery under this batch_id."
READ_TIMEOUT = "Upstream did not answer in time, twice (a read is sent once more); nothing was taken, retrying is safe."


def v1_blueprint(route: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under ``/v1`` (``callnos_gateway.api.authorise`` checked the key)."""
    return Blueprint(route.replace("-", "_"), import_name, url_prefix="/v1", description=description)


def problems(blp: Blueprint, descriptions: dict[int, str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document each status of ``descriptions`` as a problem+json answer of the view."""

    def document(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in sorted(descriptions, reverse=True):
            view = blp.alt_response(status, schema=ProblemSchema, description=descriptions[status],
                                    content_type=PROBLEM_JSON)(view)
        return view

    return document


def for_task(task_id: int | str) -> None:
    """Refuse the request's validated task id outside the client's tasks (before any upstream call)."""
    require_task(task_id)


def invalid(error: ValidationError) -> InvalidRequest:
    """The 400 for a request whose fields did not validate."""
    return InvalidRequest("Some fields are invalid.", errors=error.messages)


def from_upstream(call: Callable[[], Answered[T]]) -> T:
    """Run one upstream call; note its status and timing for the access line and metrics.

    A batch's answer that could not be read is kept under the batch id, so
    records taken off the upstream queue can still be recovered.
    """
    facts = current()
    try:
        answered = call()
    except UpstreamError as error:
        facts.upstream_ms = error.elapsed_ms
        if error.reply is not None:
            facts.upstream_status = error.reply.status
            if isinstance(error, UpstreamBadResponse) and facts.batch_id:
                _keep_for_recovery(error, facts.batch_id)
        raise
    facts.upstream_status, facts.upstream_ms = answered.reply.status, answered.reply.elapsed_ms
    return answered.value


def _keep_for_recovery(error: UpstreamBadResponse, batch_id: str) -> None:
    if error.reply is not None and current_gateway().dead_letters.keep(batch_id, error.reply.body):
        error.detail += KEPT


def json_answer(body: dict[str, Any]) -> Response:
    """A 200 JSON answer."""
    return Response(orjson.dumps(body), 200, mimetype="application/json")
