"""The store interface: claim a key, then complete it with the answer or release it.

Why an interface: one host keeps its keys in a SQLite file that its gunicorn
workers share; several gateway instances share Redis. The Flask side must not
care which. Each method is atomic on its own, so workers or instances racing
on one key see exactly one winner.

    claim(key, fingerprint, lease)       -> Claimed | Replay | InFlight | Mismatch
    complete(key, token, answer, ttl)    -> True if still held; the answer is durable
    release(key, token)                  after any problem answer: the key is free again

A claim is an in-flight marker that expires after ``lease`` seconds, so a
worker that dies between claim and complete does not block its key forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from callnos_gateway.errors import IdempotencyStoreUnavailable as StoreUnavailable  # noqa: F401 (the stores raise it)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A stored ``200`` answer: its batch id and its body, byte for byte."""

    batch_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is ours; ``token`` proves it on ``complete`` and ``release``."""

    token: str


@dataclass(frozen=True, slots=True)
class Replay:
    """The key was answered before, for the same request."""

    answer: StoredAnswer


@dataclass(frozen=True, slots=True)
class InFlight:
    """Another request with the same key and body is still being answered."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used for a request with another fingerprint."""


Outcome = Claimed | Replay | InFlight | Mismatch


class IdempotencyStore(Protocol):
    def claim(self, key: str, fingerprint: str, lease: float) -> Outcome: ...
    def complete(self, key: str, token: str, answer: StoredAnswer, ttl: int) -> bool: ...
    def release(self, key: str, token: str) -> None: ...


def judge(stored_fingerprint: str, fingerprint: str, answer: StoredAnswer | None) -> Outcome:
    """Decide what a request meets when its key is already taken."""
    if stored_fingerprint != fingerprint:
        return Mismatch()
    if answer is None:
        return InFlight()
    return Replay(answer)


def unavailable(error: BaseException) -> StoreUnavailable:
    """The idempotency store's translation of a store failure (logged here, with the foreign error's text)."""
    logging.getLogger("callnos_gateway.stores.idempotency").error(
        "idempotency store failed: %s: %s", error.__class__.__name__, error)
    return StoreUnavailable(f"The idempotency store failed: {error.__class__.__name__}.")
