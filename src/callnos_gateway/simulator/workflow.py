"""The read interfaces beside callnos: tasks, isholiday and interface discovery.

Why: a dialer's whole loop (list tasks, fetch, check a holiday rule, write
back) must run against the simulator. Answers vary like the real upstream's
may: ``taskData`` list or one task straight in ``resultData``, ``serviceId``
or ``seviceId``, ids and ``isHoliday`` as strings or numbers (``--shape``
and ``--spelling`` pick; ``mixed`` alternates).
"""

from __future__ import annotations

from email.message import Message
from typing import Any

from . import answers
from .answers import Answer
from .endpoints import business_object
from .state import SimState

OBS = "/rest/isales/v1/openapi/obs"
REPORTED_PATHS = {  # what discovery reports: the documented paths, under the upstream's names
    "refreshToken": OBS + "/auth/refresh",
    "getTask": OBS + "/business/tasks",
    "getUserData": OBS + "/business/callnos",
    "getHoliDay": OBS + "/business/isholiday",
    "pushCallOutRlt": OBS + "/business/call/result",
    "pushMidRlt": OBS + "/business/push/midresult",
    "pushTaskStatus": OBS + "/business/task/status",
}


def _checked(state: SimState, headers: Message, body: bytes, ints: tuple[str, ...]) -> dict[str, Any] | Answer:
    """The request object, once its token and integer fields are checked; else the refusal."""
    payload = business_object(state, headers, body)
    if isinstance(payload, Answer):
        return payload
    bad = [name for name in ints if isinstance(payload.get(name), bool) or not isinstance(payload.get(name), int)]
    if bad:
        return answers.error(400, f"integer parameters required: {', '.join(bad)}")
    return payload


def _pick(state: SimState, doc: Any, fixed: Any, turn: int) -> Any:
    """The manual's sample form or the table's, as ``--spelling`` says (``mixed``: by turn)."""
    mode = state.config.spelling
    if mode == "mixed":
        return doc if turn % 2 == 0 else fixed
    return doc if mode == "doc" else fixed


def tasks(state: SimState, body: bytes, headers: Message) -> Answer:
    """Answer the configured task ids, in either shape and spelling."""
    payload = _checked(state, headers, body, ("subCCNo", "vdnId"))
    if isinstance(payload, Answer):
        return payload
    cfg = state.config
    items = [{_pick(state, "seviceId", "serviceId", at): _pick(state, task, str(task), at)} for at, task in enumerate(cfg.tasks)]
    single = len(items) == 1 and cfg.shape != "list" and (cfg.shape == "single" or next(state.turns) % 2 == 1)
    data = items[0] if single else {"taskData": items}
    return Answer(200, answers.dumps({"result": 0, "resultData": data}))


def isholiday(state: SimState, body: bytes, headers: Message) -> Answer:
    """Answer 1 for a configured holiday id, 0 for any other, as a number or a string."""
    payload = _checked(state, headers, body, ("subCCNo", "vdnId"))
    if isinstance(payload, Answer):
        return payload
    holiday_id = payload.get("holidayId")
    if not isinstance(holiday_id, str) or not holiday_id:
        return answers.error(400, "holidayId is a required string")
    flag = int(holiday_id in state.config.holidays)
    value = _pick(state, flag, str(flag), next(state.turns))
    return Answer(200, answers.dumps({"result": "0", "resultData": {"isHoliday": value}}))


def discovery(state: SimState, body: bytes, headers: Message) -> Answer:
    """Report the documented paths (relative to the base URL) under the upstream's names."""
    payload = _checked(state, headers, body, ("version",))
    if isinstance(payload, Answer):
        return payload
    data = {"version": str(payload["version"]), **REPORTED_PATHS}
    return Answer(200, answers.dumps({"result": 0, "resultData": data}))
