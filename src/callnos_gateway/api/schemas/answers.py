"""The clean payload the gateway answers with, and the problem+json error body.

These schemas document the API (OpenAPI) and pin its shape in tests; the hot
path builds the same structure as plain dicts and serialises it with orjson.
"""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import Schema, fields

from callnos_gateway.records.normalise import NormalisedBatch


class SipHeaderSchema(Schema):
    name = fields.String(required=True)
    value = fields.String(required=True)


class IeDataSchema(Schema):
    """ieData as structured JSON; ``raw`` keeps the upstream string."""

    elements = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()))
    caller_number = fields.String(allow_none=True)
    sip_headers = fields.List(fields.Nested(SipHeaderSchema))
    raw = fields.String()
    warnings = fields.List(fields.String())


class RecordSchema(Schema):
    """One outbound-call record under the contract's names."""

    task_id = fields.String(allow_none=True, metadata={"description": "From seviceId/serviceId."})
    customer_id = fields.String(allow_none=True, metadata={"description": "From uiqueId/uniqueId."})
    called_numbers = fields.List(fields.String(), metadata={"description": "From phoneNumber; always a list."})
    caller_number = fields.String(allow_none=True)
    call_data = fields.String(allow_none=True)
    ie_data = fields.Nested(IeDataSchema, allow_none=True)
    warnings = fields.List(fields.String(), metadata={"description": "Fields that could not be read; [] normally."})


class CallDataResponseSchema(Schema):
    """A batch of records, in the upstream's order."""

    batch_id = fields.String(required=True, metadata={"description": "Made by the gateway; also in X-Batch-ID."})
    task_id = fields.Integer(required=True)
    version = fields.String(allow_none=True)
    count = fields.Integer(required=True)
    records = fields.List(fields.Nested(RecordSchema), required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details with a machine-readable ``code``."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True)
    request_id = fields.String()
    batch_id = fields.String(metadata={"description": "Set once the upstream was called: the batch this failure is about."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    upstream_status = fields.Integer()
    upstream_result = fields.String()
    upstream_message = fields.String()
    missing_scope = fields.String(metadata={
        "description": "403 forbidden: the client's missing scope, an allow word (tasks, call-data, holidays, "
                       "results, outstanding) or tasks (then task_id names the refused task).",
    })
    task_id = fields.String(metadata={"description": "403 forbidden: the task the client may not touch."})


def render_batch(batch_id: str, task_id: int, batch: NormalisedBatch) -> bytes:
    """Serialise the answer body in the contract's field order."""
    payload: dict[str, Any] = {
        "batch_id": batch_id,
        "task_id": task_id,
        "version": batch.version,
        "count": len(batch.records),
        "records": batch.records,
    }
    return orjson.dumps(payload)
