"""Per-client quotas on every ``/v1`` request, checked right after authorisation.

Each client has up to two quotas (docs/API.md, "Quotas and upstream
protection"): ``requests`` (each request costs one) and ``records`` (a request
whose JSON body names a valid ``batch_size`` costs it; other requests cost
nothing and are not counted on it). A client's own ``requests``/``records``
in the clients file win over ``CALLNOS_QUOTA_REQUESTS``/``CALLNOS_QUOTA_RECORDS``;
neither set means unlimited. Counts are per client name (keys that share a
name share its quotas) and per deployment (``stores.quotas``).

A spent quota is ``429 quota_exceeded`` with ``Retry-After`` before the view
runs, so nothing is sent upstream. Every answer under a quota, refusals
included, carries ``RateLimit-Policy`` and ``RateLimit``. If the quota store
cannot be reached the request goes through uncounted, with a warning: the
quotas protect the upstream, they must not take the gateway down.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from limits import RateLimitItem

from callnos_gateway.errors import QuotaExceeded, RequestError
from callnos_gateway.settings import Settings
from callnos_gateway.settings.clients import Client
from callnos_gateway.settings.quotas import QUOTA_NAMES, read_quota
from callnos_gateway.stores.quotas import QuotaStoreUnavailable
from callnos_gateway.api.inbound import json_object_from
from callnos_gateway.api.protection_metrics import count_refusal
from callnos_gateway.api.quota_headers import POLICY_HEADER, STATE_HEADER, policy_field, state_field
from callnos_gateway.api.request_record import current, peek
from callnos_gateway.api.services import current_gateway

log = logging.getLogger("callnos.quotas")


def install(app: Flask) -> None:
    """Check quotas after authorisation; put the RateLimit fields on every answer under one."""
    app.before_request(check_quotas)
    app.after_request(_add_fields)


def check_quotas() -> None:
    """Count this request against its client's quotas; raise ``QuotaExceeded`` when one is spent."""
    facts, gateway = current(), current_gateway()
    if facts.client is None:
        return  # probes, metrics, docs: no client, no quota
    costs = [(name, item, cost) for name, item in quotas_for(facts.client, gateway.settings)
             if (cost := _cost(name, gateway.settings.max_batch)) > 0]
    if not costs:
        return
    try:
        facts.quotas = gateway.quotas.take(facts.client.label, costs)
    except QuotaStoreUnavailable as error:
        log.warning("quota store unavailable (%s); this request is not counted", error)
        return
    for state in facts.quotas:
        if state.exceeded:
            count_refusal(facts.client.label, state.name)
            raise QuotaExceeded(f"The {state.name} quota of this key's client ({state.limit}) is spent; "
                                "nothing was sent upstream.", quota=state.name, retry_after=state.reset_seconds)


def quotas_for(client: Client, settings: Settings) -> list[tuple[str, RateLimitItem]]:
    """The client's quotas: its own from the clients file, else the defaults (checked at start)."""
    own = dict(client.quotas)
    defaults = {"requests": settings.quota_requests, "records": settings.quota_records}
    texts = [(name, own.get(name) or defaults[name]) for name in QUOTA_NAMES]
    return [(name, read_quota(text)) for name, text in texts if text]


def _cost(name: str, max_batch: int) -> int:
    """One request; or the body's ``batch_size``, when valid (else the view answers 400 and it costs none)."""
    if name == "requests":
        return 1
    try:
        size = json_object_from(request).get("batch_size")
    except RequestError:
        return 0
    valid = isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= max_batch
    return size if valid else 0


def _add_fields(response: Response) -> Response:
    facts = peek()
    if facts is not None and facts.quotas:
        response.headers[POLICY_HEADER] = policy_field(facts.quotas)
        response.headers[STATE_HEADER] = state_field(facts.quotas)
    return response
