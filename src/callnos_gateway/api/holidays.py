"""``GET /v1/holidays/<holiday_id>``: does a holiday rule apply today?"""

from __future__ import annotations

from flask import Response, request
from marshmallow import ValidationError

from callnos_gateway.api.schemas.center import CenterQuerySchema
from callnos_gateway.api.schemas.lookups import HolidayResponseSchema, checked_holiday_id, holiday_answer
from callnos_gateway.api.request_record import current
from callnos_gateway.api.services import current_gateway
from callnos_gateway.api.v1 import PROBLEMS, READ_TIMEOUT, SECURITY, from_upstream, invalid, json_answer, problems, v1_blueprint

blp = v1_blueprint("holidays", __name__, "Holiday rules")
EXAMPLE = {"holiday_id": "7", "is_holiday": True}
BAD_ANSWER = PROBLEMS[502] + " An isHoliday other than 0 or 1 is upstream_bad_response."


@blp.route("/holidays/<holiday_id>", methods=["GET"])
@blp.doc(security=SECURITY, parameters=[{"in": "query", "schema": CenterQuerySchema}])
@blp.response(200, HolidayResponseSchema, example=EXAMPLE)
@problems(blp, {400: PROBLEMS[400], 401: PROBLEMS[401], 403: PROBLEMS[403], 502: BAD_ANSWER, 504: READ_TIMEOUT})
def is_holiday(holiday_id: str) -> Response:
    """Ask whether the holiday rule ``holiday_id`` (the id carried in the task) applies.

    A read: it takes nothing upstream, and the gateway sends it once more
    after a read timeout or a 5xx.
    """
    gateway = current_gateway()
    try:
        center = gateway.center_schema.load_center(request.args.to_dict(flat=False))
        holiday_id = checked_holiday_id(holiday_id)
    except ValidationError as error:
        raise invalid(error) from None
    ask = lambda: gateway.upstream.is_holiday(center.call_center_id, center.vcc_id, holiday_id, current().request_id)  # noqa: E731
    return json_answer(holiday_answer(holiday_id, from_upstream(ask)))
