"""The ``memory`` token store: one process's own token (each worker logs in for itself).

Why keep it: a single process needs no file or server, and tests use it to
show what goes wrong without a shared store. It follows the same contract as
the shared stores, so the token source has one code path.
"""

from __future__ import annotations

import threading
import time

from callnos_gateway.stores.tokens.base import StoredToken


class MemoryStore:
    """Tokens and renew locks in a dict of this process."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[StoredToken, float]] = {}  # key -> (token, forget at)
        self._locks: dict[str, tuple[str, float]] = {}  # key -> (holder, lease end)
        self._guard = threading.Lock()

    def get(self, key: str) -> StoredToken | None:
        entry = self._tokens.get(key)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, key: str, token: StoredToken, holder: str, keep_for: float) -> bool:
        with self._guard:
            if not self._holds(key, holder):
                return False
            self._tokens[key] = (token, time.monotonic() + keep_for)
            return True

    def delete_if(self, key: str, value: str) -> bool:
        with self._guard:
            entry = self._tokens.get(key)
            if entry is None or value not in (entry[0].token, entry[0].refresh_token):
                return False
            del self._tokens[key]
            return True

    def acquire(self, key: str, holder: str, lease: float) -> bool:
        with self._guard:
            current = self._locks.get(key)
            if current is not None and current[0] != holder and current[1] > time.monotonic():
                return False
            self._locks[key] = (holder, time.monotonic() + lease)
            return True

    def release(self, key: str, holder: str) -> None:
        with self._guard:
            if self._holds(key, holder):
                del self._locks[key]

    def _holds(self, key: str, holder: str) -> bool:
        current = self._locks.get(key)
        return current is not None and current[0] == holder and current[1] > time.monotonic()
