"""Access and refresh tokens the fake upstream issues, checks and expires.

Why: the gateway's login mode (log in once, refresh before expiry, log in
again when refused, re-send once after a 401) can only be tested against a
server whose tokens really expire, and which tests can expire on demand.
Tokens are random; a refresh gives a new pair and leaves the old refresh token
valid until its own expiry (the manual does not say it is single-use).

``invalidating_login``: some session-based upstreams keep one live session per
user, so each login invalidates every earlier token and refresh token of that
user (static tokens stay). The manual does not rule it out, and a gateway with
several workers must survive it; tests switch it on (flag or control route).
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
import time
from dataclasses import dataclass
from typing import Callable

_SWEEP_ABOVE = 10_000  # purge expired entries once a table grows past this
_HISTORY = 10_000  # tokens remembered for leak checks


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh answers with."""

    token: str
    refresh_token: str
    token_ttl: float
    refresh_ttl: float


class TokenStore:
    """Issued tokens with their deadlines; every method is thread-safe."""

    def __init__(
        self,
        token_ttl: float,
        refresh_ttl: float,
        static_tokens: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
        invalidating_login: bool = False,
    ) -> None:
        self.invalidating_login = invalidating_login
        self._ttl = token_ttl
        self._refresh_ttl = refresh_ttl
        self._static = frozenset(static_tokens)
        self._clock = clock
        self._access: dict[str, float] = {}
        self._refresh: dict[str, float] = {}
        self._lock = threading.Lock()
        self._history: deque[str] = deque(maxlen=_HISTORY)

    def login(self) -> TokenPair:
        """Issue a pair for a login: in invalidating mode, every earlier pair dies first."""
        return self.issue(invalidate_earlier=self.invalidating_login)

    def issue(self, invalidate_earlier: bool = False) -> TokenPair:
        """Issue a new access token and refresh token."""
        pair = TokenPair(secrets.token_hex(16), secrets.token_hex(16), self._ttl, self._refresh_ttl)
        now = self._clock()
        with self._lock:
            if invalidate_earlier:
                self._access.clear()
                self._refresh.clear()
            self._access[pair.token] = now + self._ttl
            self._history.extend((pair.token, pair.refresh_token))
            self._refresh[pair.refresh_token] = now + self._refresh_ttl
            self._sweep(now)
        return pair

    def access_ok(self, token: str) -> bool:
        """Tell whether an access token is known and not expired."""
        return token in self._static or self._access.get(token, 0.0) > self._clock()

    def refresh_ok(self, refresh_token: str) -> bool:
        """Tell whether a refresh token is known and not expired (business calls in refresh-token mode)."""
        return refresh_token in self._static or self._refresh.get(refresh_token, 0.0) > self._clock()

    def refresh(self, refresh_token: str) -> TokenPair | None:
        """Trade a valid refresh token for a new pair; None when it is refused."""
        if self._refresh.get(refresh_token, 0.0) <= self._clock():
            return None
        return self.issue()

    def issued(self) -> list[str]:
        """Every token and refresh token issued lately, for tests that hunt for leaks."""
        with self._lock:
            return list(self._history)

    def expire_access(self) -> None:
        """Make every issued access token invalid now (static ones stay)."""
        with self._lock:
            self._access.clear()

    def expire_refresh(self) -> None:
        """Make every issued refresh token invalid now."""
        with self._lock:
            self._refresh.clear()

    def _sweep(self, now: float) -> None:
        for table in (self._access, self._refresh):
            if len(table) > _SWEEP_ABOVE:
                for token in [t for t, deadline in table.items() if deadline <= now]:
                    del table[token]
