"""The Flask side of ``Idempotency-Key``: read the header, then claim, replay or refuse.

Flow (docs/API.md, "Idempotency-Key"; IETF httpapi Idempotency-Key draft; Stripe's
idempotent requests):

1. the view validates the body first, so a ``400`` takes no key;
2. the key, scoped to the inbound API key, is claimed atomically;
3. the upstream is called; a ``200`` answer is stored durably, then sent;
4. any problem answer frees the key, so the client's retry calls the upstream again.

A replay is the stored body, byte for byte, with the same ``X-Batch-ID`` and
``Idempotent-Replayed: true``, and makes no upstream call. Another request
with the key in flight gets ``409``; the key with another body gets ``422``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response
from werkzeug.datastructures import Headers

from callnos_gateway.settings import Settings
from callnos_gateway.errors import IdempotencyKeyReused, InvalidRequest, RequestInProgress
from callnos_gateway.stores.idempotency import (
    Claimed, IdempotencyStore, InFlight, Mismatch, Replay, StoredAnswer, StoreUnavailable, fingerprint, scoped_key,
)
from callnos_gateway.api.request_record import current
from callnos_gateway.api.services import current_gateway

log = logging.getLogger("callnos.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# A claim must outlast the slowest answer: a token renewal and the callnos
# exchange (each bounded by CALLNOS_TOTAL_TIMEOUT), a re-send after a 401,
# and the store write. A worker that died holding a claim frees it after this.
LEASE_EXCHANGES, LEASE_MARGIN = 3, 15.0


IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
    "description": (
        "Optional. A retry with the same key and body gets the stored 200 answer, byte for byte, "
        "without calling the upstream again; keys are scoped to the X-API-Key (and, on the write-backs, "
        "to the route) and kept CALLNOS_IDEMPOTENCY_TTL seconds."
    ),
}


def idempotency_key_from(headers: Headers) -> str | None:
    """Return the request's Idempotency-Key, None without one, or raise a 400 naming it."""
    value = headers.get(HEADER)
    if value is None:
        return None
    problem = key_problem(value)
    if problem:
        raise InvalidRequest(f"The {HEADER} header is invalid.", errors={HEADER: [problem]})
    return value


def key_problem(value: str) -> str | None:
    """Say why a key is not 1..255 printable ASCII characters, or None."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_KEY_LENGTH:
        return f"must be at most {MAX_KEY_LENGTH} characters"
    if not all(" " <= char <= "~" for char in value):
        return "must be printable ASCII"
    return None


def lease_for(settings: Settings) -> float:
    """Seconds a claim holds the key before another request may take it."""
    return LEASE_EXCHANGES * settings.total_timeout + LEASE_MARGIN


def answer_once(
    key: str, request_fields: Mapping[str, Any], produce: Callable[[], Response], scope: str = ""
) -> Response:
    """Answer a keyed request: replay, refuse, or ``produce`` the answer and store it.

    ``scope`` separates routes whose keys must never meet (the two write-backs:
    the same key and body on both are two writes, not a replay).
    """
    gateway = current_gateway()
    store, store_key = gateway.idempotency, scoped_key(_key_id(), key, scope)
    match store.claim(store_key, fingerprint(request_fields), lease_for(gateway.settings)):
        case Replay(answer):
            return replay(answer)
        case InFlight():
            raise RequestInProgress(f"A request with this {HEADER} is still being answered; retry later with the same key.")
        case Mismatch():
            raise IdempotencyKeyReused(f"This {HEADER} was used for a different request; use a new key for a new request.")
        case Claimed(token):
            response = _produce_or_release(store, store_key, token, produce)
            _keep(store, store_key, token, response, gateway.settings.idempotency_ttl)
            return response


def replay(answer: StoredAnswer) -> Response:
    """The stored answer again: same body bytes, same batch id (if any), marked as replayed."""
    facts = current()
    facts.batch_id, facts.replayed = answer.batch_id or None, True
    response = Response(answer.body, 200, mimetype="application/json")
    if answer.batch_id:
        response.headers["X-Batch-ID"] = answer.batch_id
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _key_id() -> str:
    """Keys are scoped to the inbound key that sent them (``api.authorise`` identified it)."""
    client = current().client
    if client is None:  # pragma: no cover - every /v1 route is authorised first
        raise RuntimeError("an idempotent request without an identified client")
    return client.key_id


def _produce_or_release(store: IdempotencyStore, key: str, token: str, produce: Callable[[], Response]) -> Response:
    """Run the view; free the key when it fails, so a retry calls the upstream again."""
    try:
        response = produce()
    except BaseException:
        _release(store, key, token)
        raise
    if response.status_code != 200:
        _release(store, key, token)
    return response


def _keep(store: IdempotencyStore, key: str, token: str, response: Response, ttl: int) -> None:
    """Store a 200 answer before it is sent; if that fails, send it anyway (the records are taken)."""
    if response.status_code != 200:
        return
    answer = StoredAnswer(batch_id=response.headers.get("X-Batch-ID", ""), body=response.get_data())
    try:
        kept = store.complete(key, token, answer, ttl)
    except StoreUnavailable as error:
        log.error("idempotent answer not stored: %s", error.detail, extra={"batch_id": answer.batch_id})
        return
    if not kept:
        log.warning("idempotent answer not stored: the claim expired first", extra={"batch_id": answer.batch_id})


def _release(store: IdempotencyStore, key: str, token: str) -> None:
    """Free the key; a store failure here only delays the retry until the lease ends."""
    try:
        store.release(key, token)
    except StoreUnavailable as error:
        log.warning("idempotency key not freed: %s", error.detail)
