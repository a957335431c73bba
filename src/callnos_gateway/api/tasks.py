"""``GET /v1/tasks``: the outbound tasks of a call center and VCC."""

from __future__ import annotations

from flask import Response, request
from marshmallow import ValidationError

from callnos_gateway.api.schemas.center import CenterQuerySchema
from callnos_gateway.api.schemas.lookups import TasksResponseSchema, tasks_answer
from callnos_gateway.api.authorise import visible_tasks
from callnos_gateway.api.request_record import current
from callnos_gateway.api.routes import TASK_LIST
from callnos_gateway.api.services import current_gateway
from callnos_gateway.api.v1 import from_upstream, invalid, json_answer, v1_blueprint, v1_route

blp = v1_blueprint("tasks", __name__, "Outbound tasks")
EXAMPLE = {"tasks": [{"task_id": "1001"}, {"task_id": "1002"}], "count": 2}


@v1_route(blp, TASK_LIST)
@blp.doc(parameters=[{"in": "query", "schema": CenterQuerySchema}])
@blp.response(200, TasksResponseSchema, example=EXAMPLE)
def list_tasks() -> Response:
    """Validate the center, ask the upstream, show only the client's tasks."""
    gateway = current_gateway()
    try:
        center = gateway.center_schema.load_center(request.args.to_dict(flat=False))
    except ValidationError as error:
        raise invalid(error) from None
    request_id = current().request_id
    task_ids = from_upstream(lambda: gateway.upstream.tasks(center.call_center_id, center.vcc_id, request_id))
    return json_answer(tasks_answer(visible_tasks(task_ids)))
