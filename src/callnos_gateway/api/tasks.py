"""``GET /v1/tasks``: the outbound tasks of a call center and VCC."""

from __future__ import annotations

from flask import Response, request
from marshmallow import ValidationError

from callnos_gateway.api.schemas.center import CenterQuerySchema
from callnos_gateway.api.schemas.lookups import TasksResponseSchema, tasks_answer
from callnos_gateway.api.authorise import visible_tasks
from callnos_gateway.api.request_record import current
from callnos_gateway.api.services import current_gateway
from callnos_gateway.api.v1 import PROBLEMS, READ_TIMEOUT, SECURITY, from_upstream, invalid, json_answer, problems, v1_blueprint

blp = v1_blueprint("tasks", __name__, "Outbound tasks")
EXAMPLE = {"tasks": [{"task_id": "1001"}, {"task_id": "1002"}], "count": 2}


@blp.route("/tasks", methods=["GET"])
@blp.doc(security=SECURITY, parameters=[{"in": "query", "schema": CenterQuerySchema}])
@blp.response(200, TasksResponseSchema, example=EXAMPLE)
@problems(blp, {400: PROBLEMS[400], 401: PROBLEMS[401], 403: PROBLEMS[403], 502: PROBLEMS[502], 504: READ_TIMEOUT})
def list_tasks() -> Response:
    """List the task ids of a call center and VCC that the client may touch, in the upstream's order.

    A read: it takes nothing upstream, and the gateway sends it once more
    after a read timeout or a 5xx.
    """
    gateway = current_gateway()
    try:
        center = gateway.center_schema.load_center(request.args.to_dict(flat=False))
    except ValidationError as error:
        raise invalid(error) from None
    task_ids = from_upstream(lambda: gateway.upstream.tasks(center.call_center_id, center.vcc_id, current().request_id))
    return json_answer(tasks_answer(visible_tasks(task_ids)))
