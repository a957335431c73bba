"""The inbound ``POST /v1/call-data`` request and its mapping to the upstream body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, validate, validates

from callnos_gateway.settings import MAX_UPSTREAM_INT
from callnos_gateway.records.fields import StrictInteger

UPSTREAM_ID = validate.Range(min=0, max=MAX_UPSTREAM_INT)


class CallDataRequestSchema(Schema):
    """What an internal app sends; unknown fields are refused (marshmallow's default)."""

    task_id = StrictInteger(required=True, validate=UPSTREAM_ID, metadata={"description": "Outbound task id, sent upstream as serviceId.", "example": 1001})
    batch_size = StrictInteger(required=True, validate=validate.Range(min=1), metadata={"description": "Records to take (1 .. CALLNOS_MAX_BATCH), sent as batchCount.", "example": 50})
    call_center_id = StrictInteger(load_default=None, validate=UPSTREAM_ID, metadata={"description": "Sent as subCCNo; default CALLNOS_SUB_CC_NO.", "example": 1})
    vcc_id = StrictInteger(load_default=None, validate=UPSTREAM_ID, metadata={"description": "Sent as vdnId; default CALLNOS_VDN_ID.", "example": 1})

    def __init__(self, *, max_batch: int = 500, sub_cc_no: int | None = None, vdn_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_batch = max_batch
        self.defaults = {"call_center_id": sub_cc_no, "vcc_id": vdn_id}

    @validates("batch_size")
    def _at_most_max_batch(self, value: int, **kwargs: Any) -> None:
        if value > self.max_batch:
            raise ValidationError(f"Must be at most {self.max_batch} (CALLNOS_MAX_BATCH).")

    def load_query(self, data: Any) -> CallnosQuery:
        """Validate ``data``, fill defaults from settings, and return the query."""
        loaded = self.load(data)
        missing: dict[str, list[str]] = {}
        for name, default in self.defaults.items():
            if loaded[name] is None:
                if default is None:
                    missing[name] = ["Missing data for required field (no default is configured)."]
                loaded[name] = default
        if missing:
            raise ValidationError(missing)
        return CallnosQuery(**loaded)


@dataclass(frozen=True, slots=True)
class CallnosQuery:
    """A validated request for one batch."""

    task_id: int
    batch_size: int
    call_center_id: int
    vcc_id: int

    def upstream_body(self) -> dict[str, int]:
        """The callnos request body, under the upstream's names."""
        return {
            "subCCNo": self.call_center_id,
            "vdnId": self.vcc_id,
            "serviceId": self.task_id,
            "batchCount": self.batch_size,
        }
