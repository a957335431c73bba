"""What every ``/v1`` view shares: its route's registration and docs, its task, its upstream call.

Each route module makes its blueprint with ``v1_blueprint`` and registers each
view with ``v1_route(blp, ROUTE)`` from its declaration in
``callnos_gateway.api.routes``; the key and scope check of every ``/v1`` route
runs before it (``callnos_gateway.api.authorise``). A view that knows its task
checks it with ``for_task`` once the request is valid and before the upstream
is called. Views stay thin: validate, call one ``UpstreamApi`` method through
``from_upstream``, render.
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
from callnos_gateway.api.authorise import require_task
from callnos_gateway.api.problem_texts import problem_descriptions
from callnos_gateway.api.request_record import current
from callnos_gateway.api.routes import Route
from callnos_gateway.api.schemas.answers import ProblemSchema
from callnos_gateway.api.services import current_gateway

T = TypeVar("T")
View = Callable[..., Any]
PROBLEM_JSON = "application/problem+json"
SECURITY = [{"ApiKey": []}]
KEPT = " The answer was kept for recovery under this batch_id."


def v1_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint of ``/v1`` views; ``name`` is its OpenAPI tag."""
    return Blueprint(name, import_name, description=description)


def v1_route(blp: Blueprint, route: Route) -> Callable[[View], View]:
    """Register ``view`` under its declared route: path, methods, key, summary, description and problems."""

    def register(view: View) -> View:
        view = problems(blp, problem_descriptions(route))(view)
        view = blp.doc(summary=route.summary, description=route.description, security=SECURITY)(view)
        return blp.route(route.path, methods=list(route.methods))(view)

    return register


def problems(blp: Blueprint, descriptions: dict[int, str]) -> Callable[[View], View]:
    """Document each status of ``descriptions`` as a problem+json answer of the view."""

    def document(view: View) -> View:
        for status in sorted(descriptions, reverse=True):
            view = blp.alt_response(status, schema=ProblemSchema, description=descriptions[status],
                                    content_type=PROBLEM_JSON)(view)
        return view

    return document


def for_task(task_id: int | str) -> None:
    """Refuse the request's validated task id outside the client's tasks (before any upstream call)."""
    current().task = str(task_id)
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
