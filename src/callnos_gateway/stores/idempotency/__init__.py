"""Idempotency-Key support without Flask: the store interface, two stores, the fingerprint.

Why: the records a callnos call takes off the upstream queue are gone from it
once the upstream answers. If the gateway's answer then never reaches the
client, a plain retry takes a new batch and the first is lost. With an
Idempotency-Key the gateway stores the ``200`` answer before sending it and
replays it to a retry (IETF httpapi "The Idempotency-Key HTTP Header Field";
Stripe's "Idempotent requests").

``CALLNOS_IDEMPOTENCY_URL`` picks the store:

    sqlite:///var/idempotency.sqlite3    (default; relative to the working directory)
    sqlite:////srv/callnos/idem.sqlite3  (absolute path: four slashes)
    redis://host:6379/0, rediss://...    (several gateway instances)

``open_store`` only parses the URL: no file or connection is opened until the
first request that carries a key, so it is safe before gunicorn forks.
"""

from __future__ import annotations

from callnos_gateway.stores.idempotency.base import (
    Claimed,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Outcome,
    Replay,
    StoredAnswer,
    StoreUnavailable,
)
from callnos_gateway.stores.idempotency.fingerprint import fingerprint, scoped_key
from callnos_gateway.stores.idempotency.redis_store import RedisStore
from callnos_gateway.stores.idempotency.sqlite_store import SQLiteStore
from callnos_gateway.settings.store_urls import IDEMPOTENCY_DEFAULT_URL as DEFAULT_URL
from callnos_gateway.settings.store_urls import shared_store_problem
from callnos_gateway.stores.connections import by_url

__all__ = [
    "Claimed", "DEFAULT_URL", "IdempotencyStore", "InFlight", "Mismatch", "Outcome", "RedisStore", "Replay",
    "SQLiteStore", "StoredAnswer", "StoreUnavailable", "fingerprint", "open_store", "scoped_key", "store_url_problem",
]


def store_url_problem(url: str) -> str | None:
    """Say what is wrong with a store URL, or None when it can be used."""
    return shared_store_problem(url)


def open_store(url: str | None) -> IdempotencyStore:
    """Build the store a URL names (the default when None), opening nothing yet."""
    return by_url(url or DEFAULT_URL, SQLiteStore, RedisStore)
