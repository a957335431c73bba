"""Per-client quota counts, shared by every worker (SQLite) or every instance (Redis).

``CALLNOS_QUOTA_URL`` names the store: ``sqlite:///var/quotas.sqlite3``
(default: every worker of the host), ``redis://host:6379/0`` (every instance),
or ``memory`` (each process alone; tests). Counting is the ``limits``
package's fixed-window strategy over its Redis storage or our SQLite one
(``sqlite_storage``). Only requests that pass are counted: a refused hit is
taken back at once, so a client that keeps knocking does not push its own
window further out, and ``remaining`` never goes below zero.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from callnos_gateway.settings.store_urls import MEMORY
from callnos_gateway.stores.quotas import sqlite_storage  # noqa: F401  (registers the sqlite scheme)

__all__ = ["QuotaCounter", "QuotaState", "QuotaStoreUnavailable"]
NAMESPACE = "callnos"
REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}


class QuotaStoreUnavailable(Exception):
    """The quota store could not be read or written."""


@dataclass(frozen=True, slots=True)
class QuotaState:
    """One quota after a request: its rule, what is left, and when its window ends."""

    name: str  # "requests" | "records"
    limit: RateLimitItem
    remaining: int
    reset_seconds: int  # whole seconds until the window ends (at least 1)
    exceeded: bool = False


class QuotaCounter:
    """Counts each client's quotas in the store ``url`` names; opens it on first use, after the fork."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._limiter: FixedWindowRateLimiter | None = None
        self._pid = os.getpid()

    def take(self, who: str, costs: list[tuple[str, RateLimitItem, int]]) -> list[QuotaState]:
        """Count ``(quota name, rule, cost)`` for client ``who``; stop at the first one exceeded.

        Every quota counted before a refusal is taken back too, so a refused
        request costs nothing. Raises ``QuotaStoreUnavailable``.
        """
        limiter, states = self._strategy(), []
        try:
            for name, item, cost in costs:
                states.append(_state(limiter, item, (NAMESPACE, name, who), cost))
                if states[-1].exceeded:
                    states = [*self._take_back_all(limiter, who, costs, states[:-1]), states[-1]]
                    break
        except (StorageError, OSError) as error:
            raise QuotaStoreUnavailable(f"{error.__class__.__name__}") from None
        return states

    @staticmethod
    def _take_back_all(limiter: FixedWindowRateLimiter, who: str, costs: list[tuple[str, RateLimitItem, int]],
                       passed: list[QuotaState]) -> list[QuotaState]:
        """Take back the quotas counted before one was exceeded; their states get the cost back."""
        for (name, item, cost), state in zip(costs, passed):
            _take_back(limiter, item, (NAMESPACE, name, who), cost)
        return [replace(state, remaining=min(state.limit.amount, state.remaining + cost))
                for (_, _, cost), state in zip(costs, passed)]

    def _strategy(self) -> FixedWindowRateLimiter:
        if self._limiter is None or self._pid != os.getpid():
            self._limiter, self._pid = FixedWindowRateLimiter(open_storage(self.url)), os.getpid()
        return self._limiter


def _state(limiter: FixedWindowRateLimiter, item: RateLimitItem, ids: tuple[str, ...], cost: int) -> QuotaState:
    """Hit one quota (taken back at once if exceeded) and read what is left."""
    passed = limiter.hit(item, *ids, cost=cost)
    if not passed:
        _take_back(limiter, item, ids, cost)
    stats = limiter.get_window_stats(item, *ids)
    reset = max(1, math.ceil(stats.reset_time - time.time()))
    return QuotaState(ids[1], item, stats.remaining, reset, exceeded=not passed)


def _take_back(limiter: FixedWindowRateLimiter, item: RateLimitItem, ids: tuple[str, ...], cost: int) -> None:
    """Undo a hit: ``limits`` has no refund, so add ``-cost`` to the same window's counter."""
    limiter.storage.incr(item.key_for(*ids), item.get_expiry(), amount=-cost)


def open_storage(url: str) -> Storage:
    """The ``limits`` storage for ``url`` (``memory``, ``sqlite:///...``, ``redis://...``)."""
    if url == MEMORY:
        return storage_from_string("memory://", wrap_exceptions=True)
    options = REDIS_OPTIONS if url.startswith(("redis://", "rediss://")) else {}
    return storage_from_string(url, wrap_exceptions=True, **options)
