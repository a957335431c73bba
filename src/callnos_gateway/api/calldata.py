"""``POST /v1/call-data``: fetch one batch of outbound-call records."""

from __future__ import annotations

import dataclasses
import uuid

from flask import Response, request
from marshmallow import ValidationError

from callnos_gateway.errors import UpstreamError
from callnos_gateway.api.ledger_books import client_label
from callnos_gateway.api.schemas.call_data import CallDataRequestSchema, CallnosQuery
from callnos_gateway.api.schemas.answers import CallDataResponseSchema, render_batch
from callnos_gateway.api.services import Gateway, current_gateway
from callnos_gateway.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_HEADER, answer_once, idempotency_key_from
from callnos_gateway.api.inbound import json_object_from
from callnos_gateway.api.request_record import current
from callnos_gateway.api.routes import CALL_DATA
from callnos_gateway.api.v1 import for_task, from_upstream, invalid, v1_blueprint, v1_route

blp = v1_blueprint("call_data", __name__, "Outbound-call records")

BATCH_HEADER = "X-Batch-ID"
BATCH_HEADERS = {
    BATCH_HEADER: {"schema": {"type": "string"}},
    REPLAYED_HEADER: {"schema": {"type": "string", "enum": ["true"]}, "description": "Set on a replayed answer."},
}


@v1_route(blp, CALL_DATA)
@blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": CallDataRequestSchema}}},
    parameters=[IDEMPOTENCY_KEY_PARAMETER],
)
@blp.response(200, CallDataResponseSchema, headers=BATCH_HEADERS)
def fetch_call_data() -> Response:
    """Validate, check the task, then take one batch (or replay the one of the same ``Idempotency-Key``)."""
    gateway = current_gateway()
    try:
        query = gateway.request_schema.load_query(json_object_from(request))
    except ValidationError as error:
        raise invalid(error) from None
    for_task(query.task_id)
    key = idempotency_key_from(request.headers)
    if key is None:
        return _fetch(gateway, query)
    return answer_once(key, dataclasses.asdict(query), lambda: _fetch(gateway, query))


def _fetch(gateway: Gateway, query: CallnosQuery) -> Response:
    """Take one batch upstream and answer it under a new batch id (named before the call, for its problems and the ledger)."""
    facts = current()
    facts.batch_id = batch_id = uuid.uuid4().hex
    books = gateway.ledger
    entry = books.begin(batch_id, facts.request_id, str(query.task_id), client_label(), query.batch_size)
    try:
        batch = from_upstream(lambda: gateway.upstream.callnos(query.upstream_body(), facts.request_id))
    except UpstreamError as error:
        books.failed(entry, error)
        raise
    facts.records = len(batch.records)
    books.settle(entry, batch.records)  # before the answer leaves
    response = Response(render_batch(batch_id, query.task_id, batch), 200, mimetype="application/json")
    response.headers[BATCH_HEADER] = batch_id
    return response
