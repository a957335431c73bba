"""The write-back request (``POST /v1/call-results[/intermediate]``) and its upstream body.

Each field names its upstream key in ``metadata["upstream"]``: the mapping is
read off the schema, so it cannot drift from the documentation. Optional
fields left out are not sent; the three times are RFC 3339 with an offset
inbound and ``CALLNOS_TIME_FORMAT`` in ``CALLNOS_TIME_ZONE`` upstream (the
upstream's format is undocumented; other CEC pages use ``yyyy-MM-dd HH:mm:ss``).
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

from marshmallow import Schema, fields

from callnos_gateway.api.schemas.center import fill_defaults
from callnos_gateway.records.fields import Rfc3339DateTime, StrictInteger
from callnos_gateway.api.schemas.call_data import UPSTREAM_ID
from callnos_gateway.api.schemas.lookups import TEXT

TIME_EXAMPLE = "2026-03-01T09:30:00+08:00"


def _text(upstream: str, description: str, example: str, required: bool = False) -> fields.String:
    meta = {"upstream": upstream, "description": f"{description} Sent as {upstream}.", "example": example}
    return fields.String(required=required, validate=TEXT, metadata=meta)


def _time(upstream: str, description: str) -> Rfc3339DateTime:
    meta = {"upstream": upstream, "example": TIME_EXAMPLE,
            "description": f"{description} Sent as {upstream} in CALLNOS_TIME_FORMAT, CALLNOS_TIME_ZONE."}
    return Rfc3339DateTime(metadata=meta)


class ResultRequestSchema(Schema):
    """A call's outcome; unknown fields are refused, strings are 1..256 characters."""

    task_id = _text("serviceId", "The record's task_id.", "1001", required=True)
    customer_id = _text("uniqueId", "The record's customer_id.", "C-1-1001-000001", required=True)
    call_center_id = StrictInteger(load_default=None, validate=UPSTREAM_ID, metadata={"upstream": "subCCNo", "description": "Default CALLNOS_SUB_CC_NO.", "example": 1})
    vcc_id = StrictInteger(load_default=None, validate=UPSTREAM_ID, metadata={"upstream": "vdnId", "description": "Default CALLNOS_VDN_ID.", "example": 1})
    status = _text("status", "The call's status (values are the upstream's).", "0")
    device_type = StrictInteger(validate=UPSTREAM_ID, metadata={"upstream": "deviceType", "description": "Sent as deviceType.", "example": 5})
    phone_number = _text("phoneNumber", "The number called.", "13800138000")
    fail_code = _text("failCode", "The failure code (00000: the call succeeded).", "00000")
    asr_result = _text("asrResult", "Speech recognition result.", "interested")
    fetched_at = _time("fetchTime", "When the record was fetched.")
    call_started_at = _time("writeStartTime", "When the call started.")
    call_ended_at = _time("endCallTime", "When the call ended.")
    call_id = _text("callId", "The call's id.", "1700000000-12345")

    def __init__(
        self, *, sub_cc_no: int | None = None, vdn_id: int | None = None,
        time_format: str = "%Y-%m-%d %H:%M:%S", zone: tzinfo = timezone.utc, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.defaults = {"call_center_id": sub_cc_no, "vcc_id": vdn_id}
        self.time_format, self.zone = time_format, zone

    def load_upstream_body(self, data: Any) -> dict[str, Any]:
        """Validate ``data``, fill the default ids, and return the upstream body."""
        loaded = fill_defaults(self.load(data), self.defaults)
        return {self.fields[name].metadata["upstream"]: self._upstream_value(value) for name, value in loaded.items()}

    def _upstream_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(self.zone).strftime(self.time_format)
        return value


class WrittenResponseSchema(Schema):
    """The upstream accepted the result."""

    written = fields.Boolean(required=True, metadata={"example": True})
    task_id = fields.String(required=True, metadata={"example": "1001"})
    customer_id = fields.String(required=True, metadata={"example": "C-1-1001-000001"})


def written_answer(upstream_body: dict[str, Any]) -> dict[str, Any]:
    """The write-back answer body."""
    return {"written": True, "task_id": upstream_body["serviceId"], "customer_id": upstream_body["uniqueId"]}
