"""The ``/_sim/...`` control routes: the in-process controls, over HTTP.

Why: load tests run the gateway under gunicorn and ``make run`` starts the
simulator as its own process, so stats, faults, token expiry and reset must be
reachable without Python access to the ``Simulator`` object. These routes need
no auth: the simulator binds to loopback and is a test tool only.

Routes: ``GET /_sim/stats``; ``POST /_sim/faults`` ``{"endpoint", "faults"}``;
``POST /_sim/run-fault`` ``{"endpoint", "fault"}`` (null clears);
``POST /_sim/expire-tokens`` (``{"refresh": true}`` expires refresh tokens
too); ``POST /_sim/expire-refresh-tokens``; ``POST /_sim/invalidating-login``
``{"on": true|false}`` (each login invalidates every earlier token);
``POST /_sim/reset``.
"""

from __future__ import annotations

from typing import Any, Callable

from . import answers
from .answers import Answer
from .endpoints import parse_object
from .state import SimState

ControlAction = Callable[[SimState, dict[str, Any]], None]


def _push_faults(state: SimState, payload: dict[str, Any]) -> None:
    faults = payload.get("faults")
    if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
        raise ValueError("faults must be a list of fault specs")
    state.faults.push(str(payload.get("endpoint", "callnos")), faults)


def _run_fault(state: SimState, payload: dict[str, Any]) -> None:
    fault = payload.get("fault")
    if fault is not None and not isinstance(fault, str):
        raise ValueError("fault must be a fault spec or null")
    state.faults.set_run(str(payload.get("endpoint", "callnos")), fault)


def _expire_tokens(state: SimState, payload: dict[str, Any]) -> None:
    state.tokens.expire_access()
    if payload.get("refresh") is True:
        state.tokens.expire_refresh()


def _invalidating_login(state: SimState, payload: dict[str, Any]) -> None:
    on = payload.get("on")
    if not isinstance(on, bool):
        raise ValueError("on must be true or false")
    state.tokens.invalidating_login = on


_ACTIONS: dict[str, ControlAction] = {
    "/_sim/faults": _push_faults,
    "/_sim/run-fault": _run_fault,
    "/_sim/expire-tokens": _expire_tokens,
    "/_sim/expire-refresh-tokens": lambda state, _: state.tokens.expire_refresh(),
    "/_sim/invalidating-login": _invalidating_login,
    "/_sim/reset": lambda state, _: state.reset(),
}


def handle(state: SimState, method: str, path: str, body: bytes) -> Answer:
    """Run one control route and return its answer (400 on a bad request)."""
    if path == "/_sim/stats":
        if method != "GET":
            return answers.error(405, "use GET")
        return Answer(200, answers.dumps(state.snapshot()))
    action = _ACTIONS.get(path)
    if action is None:
        return answers.error(404, f"no control route {path}")
    if method != "POST":
        return answers.error(405, "use POST")
    payload = parse_object(body) if body.strip() else {}
    if isinstance(payload, Answer):
        return payload
    try:
        action(state, payload)
    except ValueError as problem:
        return answers.error(400, str(problem))
    return Answer(200, answers.dumps({"result": "0", "ok": True}))
