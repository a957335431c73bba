"""The auth interfaces and callnos, behaving normally (the rest: ``workflow``, ``writes``).

Why: this is the contract of the real upstream as docs/UPSTREAM.md describes it
(JSON bodies, Bearer tokens, integer parameters, records taken once), kept
apart from HTTP plumbing and from fault injection so it can be read alone.
Every function takes the parsed request and returns an ``Answer``.
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Any

from . import answers
from .answers import Answer
from .records import TaskKey, make_records
from .state import SimState

CALLNOS_FIELDS = ("subCCNo", "vdnId", "serviceId", "batchCount")
_PRECOMPUTED_LIMIT = 1024  # distinct (task, batch size) answers kept


def parse_object(body: bytes) -> dict[str, Any] | Answer:
    """Decode a JSON object body, or return the 400 answer explaining why not."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return answers.error(400, "request body is not valid JSON")
    if not isinstance(payload, dict):
        return answers.error(400, "request body must be a JSON object")
    return payload


def bearer(headers: Message, name: str) -> str | None | Answer:
    """Return the Bearer token of header ``name``; None if absent; 403 if malformed."""
    value = headers.get(name)
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return answers.error(403, f"malformed {name} header; expected 'Bearer <token>'")
    return token.strip()


def login(state: SimState, body: bytes, headers: Message) -> Answer:
    """Check user and password; answer a new token pair."""
    payload = parse_object(body)
    if isinstance(payload, Answer):
        return payload
    user, password = payload.get("user"), payload.get("passwd")
    if not isinstance(user, str) or not isinstance(password, str):
        return answers.error(400, "user and passwd are required strings")
    if (user, password) != (state.config.user, state.config.password):
        return answers.error(401, "wrong user or password", result="0200001")
    return state.answers.login(state.tokens.login())


def refresh(state: SimState, body: bytes, headers: Message) -> Answer:
    """Trade the refresh token (body and auth header) for a new token pair."""
    token = bearer(headers, state.config.auth_header)
    if isinstance(token, Answer):
        return token
    payload = parse_object(body)
    if isinstance(payload, Answer):
        return payload
    body_token = payload.get("refreshToken")
    if not isinstance(body_token, str) or not body_token:
        return answers.error(400, "refreshToken is a required string")
    if token != body_token:
        return answers.error(401, "auth header must carry the refresh token", result="0200002")
    pair = state.tokens.refresh(body_token)
    if pair is None:
        return answers.error(401, "refresh token expired or unknown", result="0200002")
    return state.answers.login(pair)


def callnos(state: SimState, body: bytes, headers: Message) -> Answer:
    """Check the token and the four integers; hand out the next records of the task."""
    refused = check_access(state, headers)
    if refused is not None:
        state.stats.bump("callnos_unauthorized")
        return refused
    request = _callnos_request(state, body)
    if isinstance(request, Answer):
        return request
    key, count = request
    if state.config.precomputed:
        return _precomputed(state, key, count)
    taken = state.queues.take(key, count)
    state.stats.taken(key, len(taken))
    records = make_records(state.config.seed, key, taken, state.config.spelling)
    return state.answers.callnos(records)


def check_access(state: SimState, headers: Message) -> Answer | None:
    """Refuse a business call without a valid token of the configured kind (None: allowed)."""
    token = bearer(headers, state.config.auth_header)
    if isinstance(token, Answer):
        return token
    if token is None:
        return answers.error(401, f"missing {state.config.auth_header} header")
    if state.config.business_token == "refresh_token":
        if not state.tokens.refresh_ok(token):
            return answers.error(401, "business calls take the refresh token; this one is not valid", result="0200003")
    elif not state.tokens.access_ok(token):
        return answers.error(401, "token expired or unknown", result="0200003")
    return None


def business_object(state: SimState, headers: Message, body: bytes) -> dict[str, Any] | Answer:
    """The JSON object of a business call (not callnos) with an accepted token; else the refusal, counted."""
    refused = check_access(state, headers)
    if refused is not None:
        state.stats.bump("business_unauthorized")
        return refused
    return parse_object(body)


def _callnos_request(state: SimState, body: bytes) -> tuple[TaskKey, int] | Answer:
    payload = parse_object(body)
    if isinstance(payload, Answer):
        return payload
    bad = [name for name in CALLNOS_FIELDS if not _is_int(payload.get(name))]
    if bad:
        return answers.error(400, f"integer parameters required: {', '.join(bad)}")
    count = payload["batchCount"]
    if not 1 <= count <= state.config.max_batch_count:
        return answers.error(400, f"batchCount must be 1..{state.config.max_batch_count}")
    key = (payload["subCCNo"], payload["vdnId"], payload["serviceId"])
    if min(key) < 0:
        return answers.error(400, "subCCNo, vdnId and serviceId must be >= 0")
    return key, count


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _precomputed(state: SimState, key: TaskKey, count: int) -> Answer:
    """Serve a cached list answer of ``count`` records: no queue, no JSON encoding."""
    cache_key = (key[2], count)
    body = state.precomputed.get(cache_key)
    if body is None:
        records = make_records(state.config.seed, key, range(1, count + 1), state.config.spelling)
        body = answers.dumps({"result": 0, "resultData": {"version": "311", "taskData": records}})
        if len(state.precomputed) < _PRECOMPUTED_LIMIT:
            state.precomputed[cache_key] = body
    state.stats.taken(key, count)
    return Answer(200, body, records=count, success=True)
