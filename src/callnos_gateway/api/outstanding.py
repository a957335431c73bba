"""``GET /v1/outstanding`` and ``POST /v1/outstanding/claim``: the ledger's open records, for recovery.

A dialer that restarts claims what it (or a dead peer) was handed and never
resulted: records last handed out more than ``older_than`` seconds ago. The
store hands each to exactly one caller (``callnos_gateway.stores.ledger``).
Nothing here calls the upstream.
"""

from __future__ import annotations

import uuid

from flask import Response, request
from marshmallow import ValidationError

from callnos_gateway.errors import LedgerUnavailable
from callnos_gateway.api.authorise import require_task
from callnos_gateway.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, answer_once, idempotency_key_from
from callnos_gateway.api.inbound import json_object_from
from callnos_gateway.api.ledger_books import Books, client_label
from callnos_gateway.api.ledger_metrics import CLAIMS, REDELIVERIES
from callnos_gateway.api.request_record import current
from callnos_gateway.api.routes import OUTSTANDING, OUTSTANDING_CLAIM
from callnos_gateway.api.schemas.outstanding import (
    ClaimRequestSchema, ClaimResponseSchema, OutstandingQuerySchema, OutstandingResponseSchema, decode_cursor,
    encode_cursor, open_record, redelivered, unknown_batch,
)
from callnos_gateway.api.services import current_gateway
from callnos_gateway.api.v1 import invalid, json_answer, v1_blueprint, v1_route
from callnos_gateway.stores.ledger import LedgerStore

blp = v1_blueprint("outstanding", __name__, "The ledger: records handed out and not yet resulted")
QUERY = OutstandingQuerySchema()
CLAIM = ClaimRequestSchema()
BATCH_HEADER = "X-Batch-ID"


@v1_route(blp, OUTSTANDING)
@blp.doc(parameters=[{"in": "query", "schema": OutstandingQuerySchema}])
@blp.response(200, OutstandingResponseSchema)
def list_outstanding() -> Response:
    """The client's open records (its tasks only), oldest hand-over first, one page at a time."""
    books = current_gateway().ledger
    try:
        query = QUERY.load(request.args.to_dict())
        after = decode_cursor(query["cursor"])
    except ValidationError as error:
        raise invalid(error) from None
    tasks = _tasks(query["task_id"])
    store = _store(books)
    books.sweep()
    now = books.clock()
    page = store.page(tasks, now - query["older_than"], query["limit"], after)
    unknown = store.unknown(now - books.unknown_after, tasks)
    return json_answer({
        "count": len(page.entries), "records": [open_record(entry, now) for entry in page.entries],
        "next_cursor": encode_cursor(page.next), "unknown_batches": [unknown_batch(batch, now) for batch in unknown],
    })


@v1_route(blp, OUTSTANDING_CLAIM)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ClaimRequestSchema}}},
         parameters=[IDEMPOTENCY_KEY_PARAMETER])
@blp.response(200, ClaimResponseSchema, headers={BATCH_HEADER: {"schema": {"type": "string"}}})
def claim_outstanding() -> Response:
    """Hand the caller up to ``limit`` of the task's stale open records, each to exactly one caller."""
    body = json_object_from(request)
    try:
        claim = CLAIM.load(body)
    except ValidationError as error:
        raise invalid(error) from None
    require_task(claim["task_id"])
    key = idempotency_key_from(request.headers)
    if key is None:
        return _claim(claim, body["task_id"])
    return answer_once(key, claim, lambda: _claim(claim, body["task_id"]), scope="outstanding-claim")


def _claim(claim: dict, task_as_sent: int | str) -> Response:
    books = current_gateway().ledger
    store = _store(books)
    books.sweep()
    facts = current()
    facts.batch_id = batch_id = uuid.uuid4().hex
    now = books.clock()
    entries = store.claim(claim["task_id"], now - claim["older_than"], claim["limit"], batch_id, client_label(), now)
    facts.records = len(entries)
    if entries:
        CLAIMS.inc()
        REDELIVERIES.inc(len(entries))
    response = json_answer({"batch_id": batch_id, "task_id": task_as_sent, "version": None, "count": len(entries),
                            "records": [redelivered(entry) for entry in entries]})
    response.headers[BATCH_HEADER] = batch_id
    return response


def _tasks(task_id: str | None) -> frozenset[str] | None:
    """The tasks a listing covers: the one named (if the client may touch it), else all the client's."""
    if task_id is not None:
        require_task(task_id)
        return frozenset({task_id})
    client = current().client
    return None if client is None else client.tasks


def _store(books: Books) -> LedgerStore:
    if books.store is None:
        raise LedgerUnavailable("The ledger is off (CALLNOS_LEDGER=off).")
    return books.store
