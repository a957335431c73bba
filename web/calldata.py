"""``POST /v1/call-data``: fetch one batch of outbound-call records."""

from __future__ import annotations

import uuid

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from adapter.errors import InvalidRequest
from schemas.request import CallDataRequestSchema
from schemas.response import CallDataResponseSchema, ProblemSchema, render_batch
from schemas.upstream import normalise_answer
from web.gateway import current_gateway
from web.inbound import json_object_from

blp = Blueprint("call_data", __name__, url_prefix="/v1", description="Outbound-call records")

ERRORS = {
    400: "Body not JSON, not an object, or fields invalid.",
    401: "X-API-Key missing or wrong.",
    413: "Body over CALLNOS_MAX_BODY_BYTES.",
    502: "Upstream unreachable, refused credentials, failed, rejected or answered badly.",
    504: "Upstream did not answer in time; the batch may have been taken.",
}


@blp.before_request
def require_api_key() -> None:
    """Every ``/v1`` route needs a valid inbound key."""
    g.client_id = current_gateway().keys.check(request.headers.get("X-API-Key"))


@blp.route("/call-data", methods=["POST"])
@blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": CallDataRequestSchema}}},
    security=[{"ApiKey": []}],
)
@blp.response(200, CallDataResponseSchema, headers={"X-Batch-ID": {"schema": {"type": "string"}}})
@blp.alt_response(400, schema=ProblemSchema, description=ERRORS[400], content_type="application/problem+json")
@blp.alt_response(401, schema=ProblemSchema, description=ERRORS[401], content_type="application/problem+json")
@blp.alt_response(413, schema=ProblemSchema, description=ERRORS[413], content_type="application/problem+json")
@blp.alt_response(502, schema=ProblemSchema, description=ERRORS[502], content_type="application/problem+json")
@blp.alt_response(504, schema=ProblemSchema, description=ERRORS[504], content_type="application/problem+json")
def fetch_call_data() -> Response:
    """Take the next batch of a task's records off the upstream queue.

    Every call takes records: POST, never retried by the gateway once it may
    have reached the upstream.
    """
    gateway = current_gateway()
    try:
        query = gateway.request_schema.load_query(json_object_from(request))
    except ValidationError as error:
        raise InvalidRequest("Some fields are invalid.", errors=error.messages) from None
    g.batch_id = batch_id = uuid.uuid4().hex
    reply = gateway.upstream.callnos(query.upstream_body(), g.request_id)
    g.upstream_status, g.upstream_ms = reply.status, reply.elapsed_ms
    batch = normalise_answer(reply.body)
    g.records = len(batch.records)
    response = Response(render_batch(batch_id, query.task_id, batch), 200, mimetype="application/json")
    response.headers["X-Batch-ID"] = batch_id
    return response
