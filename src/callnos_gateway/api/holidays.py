"""``GET /v1/holidays/<holiday_id>``: does a holiday rule apply today?"""

from __future__ import annotations

from flask import Response, request
from marshmallow import ValidationError

from callnos_gateway.api.schemas.center import CenterQuerySchema
from callnos_gateway.api.schemas.lookups import HolidayResponseSchema, checked_holiday_id, holiday_answer
from callnos_gateway.api.request_record import current
from callnos_gateway.api.routes import HOLIDAYS
from callnos_gateway.api.services import current_gateway
from callnos_gateway.api.v1 import from_upstream, invalid, json_answer, v1_blueprint, v1_route

blp = v1_blueprint("holidays", __name__, "Holiday rules")
EXAMPLE = {"holiday_id": "7", "is_holiday": True}


@v1_route(blp, HOLIDAYS)
@blp.doc(parameters=[{"in": "query", "schema": CenterQuerySchema}])
@blp.response(200, HolidayResponseSchema, example=EXAMPLE)
def is_holiday(holiday_id: str) -> Response:
    """Validate the center and the id, then ask the upstream."""
    gateway = current_gateway()
    try:
        center = gateway.center_schema.load_center(request.args.to_dict(flat=False))
        holiday_id = checked_holiday_id(holiday_id)
    except ValidationError as error:
        raise invalid(error) from None
    request_id = current().request_id
    ask = lambda: gateway.upstream.is_holiday(center.call_center_id, center.vcc_id, holiday_id, request_id)  # noqa: E731
    return json_answer(holiday_answer(holiday_id, from_upstream(ask)))
