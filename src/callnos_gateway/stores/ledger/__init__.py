"""The ledger: every record handed out, kept until its final result (docs/API.md, "The ledger").

``CALLNOS_LEDGER_URL`` picks the store:

    sqlite:///var/ledger.sqlite3         (default; mode 0600; relative to the working directory)
    sqlite:////srv/callnos/ledger.sqlite3
    redis://host:6379/0, rediss://...    (several gateway instances)

``open_ledger`` only parses the URL: nothing is opened before the first
request, so it is safe before gunicorn forks.
"""

from __future__ import annotations

from callnos_gateway.settings.store_urls import LEDGER_DEFAULT_URL
from callnos_gateway.stores.connections import by_url
from callnos_gateway.stores.ledger.base import (
    Batch, Cursor, Entry, Expired, LedgerStore, LedgerUnavailable, Page, TaskSummary,
)
from callnos_gateway.stores.ledger.redis_store import RedisLedger
from callnos_gateway.stores.ledger.sqlite_store import SQLiteLedger

__all__ = [
    "Batch", "Cursor", "Entry", "Expired", "LedgerStore", "LedgerUnavailable", "Page", "RedisLedger", "SQLiteLedger",
    "TaskSummary", "open_ledger",
]


def open_ledger(url: str | None) -> LedgerStore:
    """Build the store a URL names (the default when None), opening nothing yet."""
    return by_url(url or LEDGER_DEFAULT_URL, SQLiteLedger, RedisLedger)
