"""Where the upstream token lives: one per deployment, shared by every worker and instance.

Why: with a token per process, every worker of every instance logs in for
itself, and against an upstream whose logins invalidate earlier tokens the
workers keep killing each other's tokens. ``CALLNOS_TOKEN_STORE`` picks the store:

    sqlite:///var/token-store.sqlite3   (default; the workers of one host; file mode 0600)
    redis://host:6379/0, rediss://...   (several gateway instances)
    memory                              (each process logs in for itself)

``open_token_store`` only parses the setting: nothing is opened before the
first token is needed, so it is safe before gunicorn forks.
"""

from __future__ import annotations

from callnos_gateway.stores.tokens.base import StoredToken, TokenStore, TokenStoreUnavailable, token_key
from callnos_gateway.stores.tokens.memory import MemoryStore
from callnos_gateway.stores.tokens.redis_store import RedisTokenStore
from callnos_gateway.stores.tokens.sqlite_store import SQLiteTokenStore
from callnos_gateway.settings.store_urls import MEMORY, SQLITE_PREFIX, token_store_problem
from callnos_gateway.settings.store_urls import TOKEN_STORE_DEFAULT_URL as DEFAULT_URL

__all__ = [
    "DEFAULT_URL", "MemoryStore", "RedisTokenStore", "SQLiteTokenStore", "StoredToken", "TokenStore",
    "TokenStoreUnavailable", "open_token_store", "token_key", "token_store_problem",
]


def open_token_store(url: str | None) -> TokenStore:
    """Build the store the setting names (the default when None), opening nothing yet."""
    url = url or DEFAULT_URL
    problem = token_store_problem(url)
    if problem:
        raise ValueError(problem)
    if url == MEMORY:
        return MemoryStore()
    if url.startswith(SQLITE_PREFIX):
        return SQLiteTokenStore(url[len(SQLITE_PREFIX):])
    return RedisTokenStore(url)
