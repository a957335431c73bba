"""Upstream slots and the circuit's state, shared per deployment (``CALLNOS_QUOTA_URL``).

One URL holds the quotas, the slots and the circuit, because all three must
be seen alike by every worker (SQLite, the default) or every instance
(Redis); ``memory`` keeps them in the process (tests). ``open_protection_store``
opens nothing: the file or connection is made on first use, after the fork.
"""

from __future__ import annotations

from callnos_gateway.settings.store_urls import MEMORY, SQLITE_PREFIX
from callnos_gateway.stores.protection.base import CircuitRow, ProtectionStore, ProtectionStoreUnavailable
from callnos_gateway.stores.protection.memory import MemoryProtection
from callnos_gateway.stores.protection.redis_store import RedisProtection
from callnos_gateway.stores.protection.sqlite_store import SQLiteProtection

__all__ = ["CircuitRow", "ProtectionStore", "ProtectionStoreUnavailable", "open_protection_store"]


def open_protection_store(url: str) -> ProtectionStore:
    """The store ``url`` names: ``memory``, ``sqlite:///<path>`` or ``redis://...``."""
    if url == MEMORY:
        return MemoryProtection()
    if url.startswith(SQLITE_PREFIX):
        return SQLiteProtection(url[len(SQLITE_PREFIX):])
    return RedisProtection(url)
