"""The one authorisation step of every ``/v1`` route: which client, which route, which task.

It runs before any view, so a refusal is answered before anything is sent
upstream, and a new ``/v1`` route gets it without a line in its view:

1. the ``X-API-Key`` names a client (``401 unauthorized`` otherwise);
2. the matched route's ``allow`` word (its declaration in
   ``callnos_gateway.api.routes``) is in the client's ``allow`` list; a ``/v1``
   rule not declared there is refused, never let through, so a route added
   without a declaration fails closed;
3. on routes whose body names a task, that ``task_id`` is in the client's
   ``tasks`` (compared as strings: call-data's is an integer, results' a
   string). A body that cannot be read, or has no ``task_id``, is left to the
   view, which answers it ``400`` before any upstream call; a ``task_id`` of
   any other type is refused.

Refusals are ``403 forbidden`` and name the missing scope, never a key.
The request record's ``client`` is the client (logs, metrics; its key's
short id scopes idempotency keys). Views use two helpers:
``visible_tasks`` filters the task list a client sees, and ``require_task``
checks a validated task id again (the same rule, on the value the view uses).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import request

from callnos_gateway.errors import Forbidden, RequestError
from callnos_gateway.api.services import current_gateway
from callnos_gateway.api.inbound import json_object_from
from callnos_gateway.api.request_record import current
from callnos_gateway.api.routes import V1, route_for

KEY_HEADER = "X-API-Key"


def authorise_request() -> None:
    """Identify the client of a ``/v1`` request and refuse it outside its scope."""
    rule = request.url_rule
    if rule is None or not rule.rule.startswith(V1):
        return  # probes, metrics, docs; unmatched paths answer 404/405
    client = current_gateway().keys.identify(request.headers.get(KEY_HEADER))
    current().client = client
    route = route_for(rule.rule)
    if route is None:
        raise Forbidden("This route is in no client scope yet; no key may use it.", missing_scope="route")
    if not client.may_use(route.allow):
        raise Forbidden(f"This key's client may not use the {route.allow!r} routes (not in its allow list).",
                        missing_scope=route.allow)
    if route.task_in_body and client.tasks is not None:
        _check_task()


def _check_task() -> None:
    """Refuse a body whose ``task_id`` is not one of the client's tasks."""
    try:
        body = json_object_from(request)
    except RequestError:
        return  # the view refuses the same body with the same 400/413, before any upstream call
    if "task_id" not in body:
        return  # required by every task route's schema: the view answers 400
    task_id = body["task_id"]
    if isinstance(task_id, bool) or not isinstance(task_id, (int, str)):
        raise Forbidden("This key's client may only name one of its tasks in task_id.", missing_scope="tasks")
    require_task(task_id)


def visible_tasks(task_ids: Iterable[str]) -> list[str]:
    """The task ids of ``task_ids`` the request's client may see (``GET /v1/tasks``); none without a client."""
    client = current().client
    return [] if client is None else client.visible_tasks(task_ids)


def require_task(task_id: int | str) -> None:
    """Refuse a validated ``task_id`` outside the client's tasks: a second guard behind the body check."""
    client = current().client
    if client is None or not client.may_touch(task_id):
        raise Forbidden(f"This key's client may not touch task {str(task_id)[:64]!r} (not in its tasks).",
                        missing_scope="tasks", task_id=str(task_id)[:64])
