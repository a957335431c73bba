"""The write-backs: ``call/result`` (final) and ``push/midresult`` (intermediate).

Why strict: the gateway's mapping of a result (names, types, which fields are
left out) is only proven against an upstream that refuses what the real one
would. Mandatory ``subCCNo``/``vdnId`` (int), ``uniqueId``/``serviceId``
(string); optional fields of their documented types; anything else is a 400.
A ``uniqueId`` never handed out for that task is refused with a non-zero
``result``. Every accepted write goes to ``write_book.WriteBook``.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import TYPE_CHECKING, Any

from . import answers
from .answers import Answer
from .endpoints import business_object
from .records import TaskKey, customer_id

if TYPE_CHECKING:
    from .state import SimState

MANDATORY = {"subCCNo": int, "vdnId": int, "uniqueId": str, "serviceId": str}
OPTIONAL = {
    "status": str, "deviceType": int, "phoneNumber": str, "failCode": str, "asrResult": str,
    "fetchTime": str, "writeStartTime": str, "endCallTime": str, "callId": str,
}
NEVER_HANDED_OUT = "0300001"
_CUSTOMER = re.compile(r"C-(\d+)-(\d{6,})")


def result(state: SimState, body: bytes, headers: Message) -> Answer:
    """Write a final result."""
    return _write("result", state, body, headers)


def midresult(state: SimState, body: bytes, headers: Message) -> Answer:
    """Write an intermediate result."""
    return _write("midresult", state, body, headers)


def _write(endpoint: str, state: SimState, body: bytes, headers: Message) -> Answer:
    payload = business_object(state, headers, body)
    if isinstance(payload, Answer):
        return payload
    problem = field_problem(payload)
    if problem:
        state.writes.refused()
        return answers.error(400, problem)
    key = handed_out(state, payload)
    if key is None:
        state.writes.refused()
        message = f"uniqueId {payload['uniqueId']!r} was never handed out for serviceId {payload['serviceId']!r}"
        return Answer(200, answers.dumps({"result": NEVER_HANDED_OUT, "resultMessage": message}))
    state.writes.record(endpoint, ":".join(map(str, key)), payload)
    return Answer(200, answers.dumps({"result": "0"}))


def field_problem(payload: dict[str, Any]) -> str | None:
    """Say what is wrong with a write-back body's fields, or None."""
    missing = [name for name in MANDATORY if name not in payload]
    if missing:
        return f"mandatory parameters missing: {', '.join(missing)}"
    unknown = sorted(set(payload) - set(MANDATORY) - set(OPTIONAL))
    if unknown:
        return f"unknown parameters: {', '.join(unknown)}"
    kinds = {**MANDATORY, **OPTIONAL}
    wrong = [name for name, value in payload.items() if isinstance(value, bool) or not isinstance(value, kinds[name])]
    if wrong:
        return f"wrong types: {', '.join(f'{name} must be {kinds[name].__name__}' for name in wrong)}"
    return None


def handed_out(state: SimState, payload: dict[str, Any]) -> TaskKey | None:
    """The task key of a record that callnos handed out, or None if it never did."""
    service = payload["serviceId"]
    match = _CUSTOMER.fullmatch(payload["uniqueId"])
    if not service.isdigit() or match is None or match.group(1) != str(int(service)):
        return None
    key = (payload["subCCNo"], payload["vdnId"], int(service))
    index = int(match.group(2))
    if not 1 <= index <= state.queues.taken(key) or customer_id(key, index) != payload["uniqueId"]:
        return None
    return key
