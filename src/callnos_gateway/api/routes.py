"""Every ``/v1`` route, declared once: path, methods, scope, upstream interface and docs.

The blueprints register each view under its route's path and methods
(``api.v1.v1_route``); authorisation finds the matched route's ``allow`` word
here (a ``/v1`` rule not declared here is refused); the metrics label a request
by its route's path; the OpenAPI entry takes its summary, description and
problem texts from it, the 502/504 texts from the interface it calls.
The ``allow`` words are the clients file's vocabulary
(``callnos_gateway.settings.clients.SCOPES``); a test keeps both in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from callnos_gateway.upstream.obs import CALLNOS, HOLIDAY, MIDRESULT, RESULT, TASKS
from callnos_gateway.upstream.obs.interface import Interface

V1 = "/v1/"
CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")  # "<string:holiday_id>" -> "<holiday_id>"
READ_PROBLEMS = (400, 401, 403, 429, 502, 503, 504)
KEYED_PROBLEMS = (400, 401, 403, 409, 413, 422, 429, 502, 503, 504)  # a JSON body and an Idempotency-Key
A_READ = "A read: it takes nothing upstream, and the gateway sends it once more\nafter a read timeout or a 5xx."


@dataclass(frozen=True)
class Route:
    """One ``/v1`` route: what serves it, who may use it, what it calls upstream and how it is documented."""

    name: str  # also the idempotency scope of a write-back's keys
    path: str  # the URL rule, the metrics' route label
    methods: tuple[str, ...]
    allow: str  # the clients file's ``allow`` word a key's client needs
    interface: Interface | None  # the upstream interface it calls (its retry rule and warning make the 502/504
    # texts); None for a route that calls nothing upstream
    summary: str
    description: str
    problems: tuple[int, ...]  # the problem statuses its OpenAPI entry documents
    task_in_body: bool = False  # its JSON body names a ``task_id`` that authorisation checks
    bad_answer: str = ""  # what else this route answers as upstream_bad_response (502 text)


def _keyed_write(name: str, allow: str, interface: Interface, summary: str, description: str) -> Route:
    """A POST whose JSON body names a task and which takes an ``Idempotency-Key``."""
    return Route(name, V1 + name, ("POST",), allow, interface, summary, description,
                 problems=KEYED_PROBLEMS, task_in_body=True)


def _read(name: str, path: str, interface: Interface, summary: str, bad_answer: str = "") -> Route:
    """A GET that takes nothing upstream (its scope word is its name)."""
    return Route(name, path, ("GET",), name, interface, summary, A_READ, problems=READ_PROBLEMS, bad_answer=bad_answer)


CALL_DATA = _keyed_write(
    "call-data", "call-data", CALLNOS,
    "Take the next batch of a task's records off the upstream queue.",
    "Every call takes records: POST, never retried by the gateway once it may\n"
    "have reached the upstream. With an ``Idempotency-Key``, a client's retry\n"
    "gets the stored answer instead of a new batch.",
)
TASK_LIST = _read(  # the view shows only the client's tasks
    "tasks", "/v1/tasks", TASKS,
    "List the task ids of a call center and VCC that the client may touch, in the upstream's order.",
)
HOLIDAYS = _read(
    "holidays", "/v1/holidays/<holiday_id>", HOLIDAY,
    "Ask whether the holiday rule ``holiday_id`` (the id carried in the task) applies.",
    bad_answer="An isHoliday other than 0 or 1 is upstream_bad_response.",
)
FINAL_RESULT = _keyed_write(
    "call-results", "results", RESULT,
    "Write a call's final result (upstream ``call/result``).",
    "Never re-sent by the gateway once it may have reached the upstream (a\n"
    "second send may write a second row). With an ``Idempotency-Key``, a\n"
    "client's retry gets the stored answer and writes nothing.",
)
INTERMEDIATE_RESULT = _keyed_write(
    "call-results/intermediate", "results", MIDRESULT,
    "Write an intermediate result, e.g. of a preview call (upstream ``push/midresult``).",
    "Same rules as the final result; keys of the two routes never meet.",
)

OUTSTANDING = Route(
    "outstanding", "/v1/outstanding", ("GET",), "outstanding", None,
    "List the client's open records (handed out, no final result yet), oldest first, and batches of unknown outcome.",
    "Read from the ledger; nothing is sent upstream. Pages with ``cursor``.",
    problems=(400, 401, 403, 503),
)
OUTSTANDING_CLAIM = Route(
    "outstanding/claim", "/v1/outstanding/claim", ("POST",), "outstanding", None,
    "Take over a task's open records older than older_than seconds, each handed to exactly one caller.",
    "The answer has the call-data shape with a new batch_id; each record is marked\n"
    "``redelivered`` with its ``attempts``. Nothing is sent upstream. With an\n"
    "``Idempotency-Key``, a client's retry gets the same records again.",
    problems=(400, 401, 403, 409, 413, 422, 503), task_in_body=True,
)

ROUTES: tuple[Route, ...] = (TASK_LIST, CALL_DATA, HOLIDAYS, FINAL_RESULT, INTERMEDIATE_RESULT, OUTSTANDING,
                             OUTSTANDING_CLAIM)


def route_pattern(rule: str) -> str:
    """A URL rule without its converters, as routes are looked up."""
    return CONVERTER.sub(r"<\1>", rule)


_BY_PATTERN = {route_pattern(route.path): route for route in ROUTES}


def route_for(rule: str) -> Route | None:
    """The declared route of a matched URL rule, or None (probes, metrics, docs, or an undeclared rule)."""
    return _BY_PATTERN.get(route_pattern(rule))
