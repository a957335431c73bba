"""The token store interface: one upstream token per deployment, and one renewer at a time.

Why an interface: workers of one host share a SQLite file, instances share
Redis, and a single process may keep its token in memory; the token source
(``callnos_gateway.upstream.auth.LoginTokens``) must not care which. Each method is one atomic
step in the store, so processes racing on one key see one outcome.

    get(key)                              -> StoredToken | None
    put(key, token, holder, keep_for)     -> True if ``holder`` still held the lock
    delete_if(key, value)                 -> True if ``value`` was the stored token (compare and delete)
    acquire(key, holder, lease)           -> True if the renew lock is now ``holder``'s (again)
    release(key, holder)                  frees the lock if ``holder`` still has it

The lock expires ``lease`` seconds after it was taken, so a worker killed
while renewing blocks the others no longer than that. Times inside a
``StoredToken`` are the token source's clock (wall-clock seconds); the store
only keeps them, and forgets the entry ``keep_for`` seconds after ``put``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol


class TokenStoreUnavailable(Exception):
    """The store did not answer; the token source falls back to a token of its own process."""


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A token pair and its deadlines, as every process sharing the store sees it."""

    token: str
    refresh_token: str | None
    renew_at: float  # from then on, one process renews it
    expires_at: float  # the upstream refuses it from then on
    refresh_until: float  # the refresh token is worth trying until then

    def value(self, kind: str) -> str:
        """The bearer value of ``kind`` ("token" or "refresh_token")."""
        if kind == "refresh_token":
            if not self.refresh_token:
                raise ValueError("the upstream gave no refresh token")
            return self.refresh_token
        return self.token


class TokenStore(Protocol):
    def get(self, key: str) -> StoredToken | None: ...
    def put(self, key: str, token: StoredToken, holder: str, keep_for: float) -> bool: ...
    def delete_if(self, key: str, value: str) -> bool: ...
    def acquire(self, key: str, holder: str, lease: float) -> bool: ...
    def release(self, key: str, holder: str) -> None: ...


def token_key(upstream_url: str, user: str) -> str:
    """The store key of a token: upstream URL and user, so different upstreams or accounts never share one.

    Hashed, so the key has a fixed shape and the store shows neither URL nor user.
    """
    identity = upstream_url.rstrip("/") + "\n" + user
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
