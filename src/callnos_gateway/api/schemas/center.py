"""The call center and VCC ids every outbound route carries, with their configured defaults.

``call_center_id`` and ``vcc_id`` are sent upstream as ``subCCNo`` and
``vdnId``; a request may leave them out when ``CALLNOS_SUB_CC_NO`` /
``CALLNOS_VDN_ID`` are set, and gets a ``400`` naming them when not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from callnos_gateway.records.fields import QueryInteger
from callnos_gateway.api.schemas.call_data import UPSTREAM_ID

MISSING_DEFAULT = "Missing data for required field (no default is configured)."
CENTER_FIELDS = ("call_center_id", "vcc_id")


@dataclass(frozen=True, slots=True)
class Center:
    """A call center (``subCCNo``) and a VCC (``vdnId``)."""

    call_center_id: int
    vcc_id: int


def fill_defaults(loaded: dict[str, Any], defaults: dict[str, int | None]) -> dict[str, Any]:
    """Put the configured default in each missing id; raise naming every id without one."""
    missing = {name: [MISSING_DEFAULT] for name in CENTER_FIELDS if loaded.get(name) is None and defaults[name] is None}
    if missing:
        raise ValidationError(missing)
    return {**loaded, **{name: defaults[name] for name in CENTER_FIELDS if loaded.get(name) is None}}


class CenterQuerySchema(Schema):
    """``?call_center_id=&vcc_id=`` of the GET routes; other parameters are refused."""

    call_center_id = QueryInteger(load_default=None, validate=UPSTREAM_ID, metadata={"description": "Sent as subCCNo; default CALLNOS_SUB_CC_NO.", "example": 1})
    vcc_id = QueryInteger(load_default=None, validate=UPSTREAM_ID, metadata={"description": "Sent as vdnId; default CALLNOS_VDN_ID.", "example": 1})

    def __init__(self, *, sub_cc_no: int | None = None, vdn_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.defaults = {"call_center_id": sub_cc_no, "vcc_id": vdn_id}

    def load_center(self, args: Mapping[str, list[str]]) -> Center:
        """Validate the query string (each name -> its values), fill defaults, and return the center."""
        repeated = {name: ["Given more than once."] for name, values in args.items() if len(values) > 1}
        if repeated:
            raise ValidationError(repeated)
        return Center(**fill_defaults(self.load({name: values[0] for name, values in args.items()}), self.defaults))
