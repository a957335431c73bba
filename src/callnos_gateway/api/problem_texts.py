"""What each route's problem answers mean, as its OpenAPI entry says.

The 502 and 504 texts are not written per route: they come from the upstream
interface the route calls (``Route.interface``), its retry rule and its
warning (``callnos_gateway.upstream.obs.interface``), so a route that takes,
writes or only reads says so in the words the gateway's own answers use.
"""

from __future__ import annotations

from callnos_gateway.api.routes import Route
from callnos_gateway.upstream.obs.interface import Interface

PROBLEMS = {
    400: "Body or parameters invalid (`errors` names each field); or Idempotency-Key not 1..255 printable ASCII.",
    401: "X-API-Key missing or wrong.",
    403: "The key's client may not use this route, or not this task_id (missing_scope says which); nothing was sent.",
    409: "A request with the same Idempotency-Key is still being answered; retry later with the same key.",
    413: "Body over CALLNOS_MAX_BODY_BYTES.",
    422: "The Idempotency-Key was used with a different request body.",
    502: "Upstream unreachable, refused credentials, failed, rejected or answered badly.",
    429: "quota_exceeded: the client's requests or records quota is spent; nothing was sent. Retry-After, "
         "RateLimit and RateLimit-Policy say when it refills.",
    503: "Nothing was sent upstream: upstream_busy (no upstream slot within the queue wait) or "
         "upstream_unavailable (the circuit to a failing upstream is open), both with Retry-After; "
         "or idempotency_store_unavailable (only requests with an Idempotency-Key); or ledger_unavailable (the ledger "
         "cannot be written: found before anything is taken).",
    504: "Upstream did not answer in time.",
}


def retry_text(interface: Interface) -> str:
    """The interface's retry rule, as a sentence."""
    return f"This request is {interface.retry.name}."


def problem_descriptions(route: Route) -> dict[int, str]:
    """The description of each problem status the route documents."""
    if route.interface is None:
        return {status: PROBLEMS[status] for status in route.problems}
    after_sending = (retry_text(route.interface), route.interface.warning)
    derived = {
        502: _sentences(PROBLEMS[502], route.bad_answer, *after_sending),
        504: _sentences(PROBLEMS[504], *after_sending),
    }
    return {status: derived.get(status, PROBLEMS[status]) for status in route.problems}


def _sentences(*parts: str) -> str:
    return " ".join(part for part in parts if part)
