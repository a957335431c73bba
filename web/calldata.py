"""``POST /v1/call-data``: fetch one batch of outbound-call records."""

from __future__ import annotations

import dataclasses
import uuid

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from adapter.errors import InvalidRequest, UpstreamBadResponse, UpstreamError
from schemas.request import CallDataRequestSchema, CallnosQuery
from schemas.response import CallDataResponseSchema, ProblemSchema, render_batch
from schemas.upstream import normalise_answer
from web.gateway import Gateway, current_gateway
from web.idempotency import HEADER, REPLAYED_HEADER, answer_once, idempotency_key_from
from web.inbound import json_object_from

blp = Blueprint("call_data", __name__, url_prefix="/v1", description="Outbound-call records")

ERRORS = {
    400: "Body not JSON, not an object, or fields invalid; or Idempotency-Key not 1..255 printable ASCII.",
    401: "X-API-Key missing or wrong.",
    403: "The key's client may not use call-data, or not this task_id (missing_scope says which).",
    409: "A request with the same Idempotency-Key is still being answered; retry later with the same key.",
    413: "Body over CALLNOS_MAX_BODY_BYTES.",
    422: "The Idempotency-Key was used with a different request body.",
    502: "Upstream unreachable, refused credentials, failed, rejected or answered badly.",
    503: "The idempotency store is unavailable (only requests with an Idempotency-Key).",
    504: "Upstream did not answer in time; the batch may have been taken.",
}

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
    "description": (
        "Optional. A retry with the same key and body gets the stored 200 answer, byte for byte, "
        "without taking new records; keys are scoped to the X-API-Key and kept CALLNOS_IDEMPOTENCY_TTL seconds."
    ),
}
BATCH_HEADERS = {
    "X-Batch-ID": {"schema": {"type": "string"}},
    REPLAYED_HEADER: {"schema": {"type": "string", "enum": ["true"]}, "description": "Set on a replayed answer."},
}


@blp.route("/call-data", methods=["POST"])
@blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": CallDataRequestSchema}}},
    security=[{"ApiKey": []}],
    parameters=[IDEMPOTENCY_KEY_PARAMETER],
)
@blp.response(200, CallDataResponseSchema, headers=BATCH_HEADERS)
@blp.alt_response(400, schema=ProblemSchema, description=ERRORS[400], content_type="application/problem+json")
@blp.alt_response(401, schema=ProblemSchema, description=ERRORS[401], content_type="application/problem+json")
@blp.alt_response(403, schema=ProblemSchema, description=ERRORS[403], content_type="application/problem+json")
@blp.alt_response(409, schema=ProblemSchema, description=ERRORS[409], content_type="application/problem+json")
@blp.alt_response(413, schema=ProblemSchema, description=ERRORS[413], content_type="application/problem+json")
@blp.alt_response(422, schema=ProblemSchema, description=ERRORS[422], content_type="application/problem+json")
@blp.alt_response(502, schema=ProblemSchema, description=ERRORS[502], content_type="application/problem+json")
@blp.alt_response(503, schema=ProblemSchema, description=ERRORS[503], content_type="application/problem+json")
@blp.alt_response(504, schema=ProblemSchema, description=ERRORS[504], content_type="application/problem+json")
def fetch_call_data() -> Response:
    """Take the next batch of a task's records off the upstream queue.

    Every call takes records: POST, never retried by the gateway once it may
    have reached the upstream. With an ``Idempotency-Key``, a client's retry
    gets the stored answer instead of a new batch.
    """
    gateway = current_gateway()
    try:
        query = gateway.request_schema.load_query(json_object_from(request))
    except ValidationError as error:
        raise InvalidRequest("Some fields are invalid.", errors=error.messages) from None
    key = idempotency_key_from(request.headers)
    if key is None:
        return _fetch(gateway, query)
    return answer_once(key, dataclasses.asdict(query), lambda: _fetch(gateway, query))


def _fetch(gateway: Gateway, query: CallnosQuery) -> Response:
    """Take one batch upstream and answer it with a new batch id."""
    g.batch_id = batch_id = uuid.uuid4().hex
    try:
        reply = gateway.upstream.callnos(query.upstream_body(), g.request_id)
    except UpstreamError as error:
        g.upstream_ms = error.elapsed_ms
        raise
    g.upstream_status, g.upstream_ms = reply.status, reply.elapsed_ms
    try:
        batch = normalise_answer(reply.body)
    except UpstreamBadResponse as error:
        if gateway.dead_letters.keep(batch_id, reply.body):
            error.detail += " The answer was kept for recovery under this batch_id."
        raise
    g.records = len(batch.records)
    response = Response(render_batch(batch_id, query.task_id, batch), 200, mimetype="application/json")
    response.headers["X-Batch-ID"] = batch_id
    return response
