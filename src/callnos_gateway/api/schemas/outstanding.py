"""``GET /v1/outstanding`` and ``POST /v1/outstanding/claim``: their requests, answers and cursor."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson
from marshmallow import Schema, ValidationError, fields, validate

from callnos_gateway.stores.ledger import Batch, Cursor, Entry
from callnos_gateway.api.schemas.answers import CallDataResponseSchema, RecordSchema

MAX_LIMIT = 1000
SECONDS = validate.Range(min=0, max=10 * 365 * 86400)


class TaskId(fields.Field):
    """A task id as an integer (as call-data takes it) or a string (as the results do); kept as a string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip() or len(str(value)) > 64:
            raise ValidationError("Must be a task id: an integer or a non-empty string of at most 64 characters.")
        return str(value)


class OutstandingQuerySchema(Schema):
    task_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                            metadata={"description": "Only this task (one of the client's); default all its tasks."})
    older_than = fields.Float(load_default=0.0, validate=SECONDS,
                              metadata={"description": "Only records last handed out at least this many seconds ago."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page."})


class ClaimRequestSchema(Schema):
    task_id = TaskId(required=True, metadata={"description": "The task whose stale records to take over.",
                                               "example": 1001})
    older_than = fields.Float(required=True, validate=SECONDS, metadata={
        "description": "Seconds since a record was last handed out (fetched or claimed) without a result; "
                       "use at least your call timeout.", "example": 600})
    limit = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_LIMIT), metadata={"example": 50})


class OpenRecordSchema(Schema):
    task_id = fields.String()
    customer_id = fields.String()
    batch_id = fields.String(metadata={"description": "The batch that last handed it out (a fetch or a claim)."})
    client = fields.String(metadata={"description": "The client that holds it."})
    fetched_at = fields.String(metadata={"description": "When call-data first handed it out (ISO 8601, UTC)."})
    handed_at = fields.String(metadata={"description": "When it was last handed out (ISO 8601, UTC)."})
    age_seconds = fields.Float(metadata={"description": "Seconds since fetched_at."})
    attempts = fields.Integer(metadata={"description": "Times handed out: 1, plus one per claim."})
    last_status = fields.String(allow_none=True, metadata={"description": "Of the last intermediate result."})
    last_status_at = fields.String(allow_none=True)
    record = fields.Nested(RecordSchema, metadata={"description": "The record as it was answered."})


class UnknownBatchSchema(Schema):
    batch_id = fields.String()
    request_id = fields.String()
    task_id = fields.String()
    client = fields.String()
    batch_size = fields.Integer()
    started_at = fields.String()
    age_seconds = fields.Float()


class OutstandingResponseSchema(Schema):
    count = fields.Integer(required=True)
    records = fields.List(fields.Nested(OpenRecordSchema), required=True)
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as cursor for the next page; "
                                                                          "null on the last."})
    unknown_batches = fields.List(fields.Nested(UnknownBatchSchema), metadata={
        "description": "callnos calls of the client's tasks still in flight after CALLNOS_TOTAL_TIMEOUT: their "
                       "records may have been taken and delivered to nobody (find them by request_id upstream)."})


class RedeliveredRecordSchema(RecordSchema):
    redelivered = fields.Boolean(metadata={"description": "Always true: this record was handed out before."})
    attempts = fields.Integer(metadata={"description": "Times handed out, this one included."})


class ClaimResponseSchema(CallDataResponseSchema):
    """The call-data answer's shape, under a new batch id, with the task id as it was sent."""

    task_id = fields.Raw(required=True)
    records = fields.List(fields.Nested(RedeliveredRecordSchema), required=True)


def iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def open_record(entry: Entry, now: float) -> dict[str, Any]:
    return {
        "task_id": entry.task_id, "customer_id": entry.customer_id, "batch_id": entry.batch_id,
        "client": entry.client, "fetched_at": iso(entry.fetched_at), "handed_at": iso(entry.handed_at),
        "age_seconds": round(max(0.0, now - entry.fetched_at), 3), "attempts": entry.attempts,
        "last_status": entry.last_status, "last_status_at": iso(entry.last_status_at),
        "record": orjson.loads(entry.record),
    }


def unknown_batch(batch: Batch, now: float) -> dict[str, Any]:
    return {
        "batch_id": batch.batch_id, "request_id": batch.request_id, "task_id": batch.task_id,
        "client": batch.client, "batch_size": batch.batch_size, "started_at": iso(batch.started_at),
        "age_seconds": round(max(0.0, now - batch.started_at), 3),
    }


def redelivered(entry: Entry) -> dict[str, Any]:
    return {**orjson.loads(entry.record), "redelivered": True, "attempts": entry.attempts}


def encode_cursor(cursor: Cursor | None) -> str | None:
    return None if cursor is None else base64.urlsafe_b64encode(orjson.dumps(list(cursor))).decode()


def decode_cursor(text: str | None) -> Cursor | None:
    """The cursor a previous page gave, or a ValidationError naming it."""
    if text is None:
        return None
    try:
        handed_at, task_id, customer_id = orjson.loads(base64.urlsafe_b64decode(text.encode()))
        if isinstance(handed_at, (int, float)) and isinstance(task_id, str) and isinstance(customer_id, str):
            return (float(handed_at), task_id, customer_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        pass
    raise ValidationError({"cursor": ["Not a cursor this route gave; pass next_cursor unchanged."]})
