"""The shared stores' URLs: their defaults and the one check every store setting goes through.

Kept with the settings, not the stores, so reading settings loads no store
(no SQLite, no Redis client); ``callnos_gateway.stores`` opens what these name.
"""

from __future__ import annotations

SQLITE_PREFIX = "sqlite:///"
REDIS_SCHEMES = ("redis://", "rediss://")
MEMORY = "memory"
IDEMPOTENCY_DEFAULT_URL = "sqlite:///var/idempotency.sqlite3"
TOKEN_STORE_DEFAULT_URL = "sqlite:///var/token-store.sqlite3"
LEDGER_DEFAULT_URL = "sqlite:///var/ledger.sqlite3"


def shared_store_problem(url: str, accepted: str = "sqlite:///<path> or redis://host:port/db") -> str | None:
    """Say what is wrong with a shared store's URL (SQLite file or Redis), or None when it can be used."""
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX):]
        if not path or path == ":memory:":
            return "sqlite:/// needs a file path (one file that every worker of the host opens)"
        return None
    if url.startswith(REDIS_SCHEMES) and url.split("://", 1)[1]:
        return None
    return f"must be {accepted}"


def token_store_problem(url: str) -> str | None:
    """Say what is wrong with a ``CALLNOS_TOKEN_STORE`` value, or None when it can be used."""
    if url == MEMORY:
        return None
    return shared_store_problem(url, "memory, sqlite:///<path> or redis://host:port/db")
