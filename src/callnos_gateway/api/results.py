"""``POST /v1/call-results`` and ``POST /v1/call-results/intermediate``: write a call's outcome back."""

from __future__ import annotations

from flask import Response, request
from marshmallow import ValidationError

from callnos_gateway.api.schemas.results import ResultRequestSchema, WrittenResponseSchema, written_answer
from callnos_gateway.api.services import Gateway, current_gateway
from callnos_gateway.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, answer_once, idempotency_key_from
from callnos_gateway.api.inbound import json_object_from
from callnos_gateway.api.request_record import current
from callnos_gateway.api.routes import FINAL_RESULT, INTERMEDIATE_RESULT, Route
from callnos_gateway.api.v1 import for_task, from_upstream, invalid, json_answer, v1_blueprint, v1_route

blp = v1_blueprint("results", __name__, "Call results")
EXAMPLE = {"written": True, "task_id": "1001", "customer_id": "C-1-1001-000001"}
REQUEST_EXAMPLE = {
    "task_id": "1001", "customer_id": "C-1-1001-000001", "status": "0", "device_type": 5,
    "phone_number": "13800138000", "fail_code": "00000", "call_id": "1700000000-12345",
    "fetched_at": "2026-03-01T09:30:00+08:00", "call_started_at": "2026-03-01T09:31:05+08:00",
    "call_ended_at": "2026-03-01T09:33:40+08:00",
}


def _doc() -> dict[str, object]:
    """The OpenAPI entry both routes share (a fresh dict each: apispec resolves it in place)."""
    body = {"schema": ResultRequestSchema, "example": REQUEST_EXAMPLE}
    return {"requestBody": {"required": True, "content": {"application/json": body}},
            "parameters": [IDEMPOTENCY_KEY_PARAMETER]}


@v1_route(blp, FINAL_RESULT)
@blp.doc(**_doc())
@blp.response(200, WrittenResponseSchema, example=EXAMPLE)
def write_final_result() -> Response:
    """Write a final result upstream (``call/result``)."""
    return _write(FINAL_RESULT, final=True)


@v1_route(blp, INTERMEDIATE_RESULT)
@blp.doc(**_doc())
@blp.response(200, WrittenResponseSchema, example=EXAMPLE)
def write_intermediate_result() -> Response:
    """Write an intermediate result upstream (``push/midresult``)."""
    return _write(INTERMEDIATE_RESULT, final=False)


def _write(route: Route, final: bool) -> Response:
    """Validate, then write once (or replay the stored answer of the same Idempotency-Key).

    Keys are scoped to the route's name: the same key and body on both routes are two writes.
    """
    gateway = current_gateway()
    try:
        body = gateway.result_schema.load_upstream_body(json_object_from(request))
    except ValidationError as error:
        raise invalid(error) from None
    for_task(body["serviceId"])
    key = idempotency_key_from(request.headers)
    if key is None:
        return _send(gateway, body, final)
    return answer_once(key, body, lambda: _send(gateway, body, final), scope=route.name)


def _send(gateway: Gateway, body: dict[str, object], final: bool) -> Response:
    request_id = current().request_id
    from_upstream(lambda: gateway.upstream.write_result(body, request_id, final))
    gateway.ledger.resulted(str(body["serviceId"]), str(body["uniqueId"]), final, _text(body.get("status")))
    return json_answer(written_answer(body))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
