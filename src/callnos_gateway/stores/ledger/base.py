"""The ledger's store interface and the values it hands back.

Why an interface: one host keeps its ledger in a SQLite file that its
gunicorn workers share; several gateway instances share Redis. The Flask side
must not care which. Each method is atomic on its own, so a claim raced by
threads, workers or instances hands each record to exactly one caller.

    begin(batch)                       the batch is "in flight": before callnos is called
    settle(batch_id, ..., records)     its records are open; the in-flight entry is gone
    drop(batch_id)                     callnos took nothing: forget the in-flight entry
    close(task, customer)              a final result was accepted upstream
    note(task, customer, status, at)   an intermediate result was accepted upstream
    page(...) / claim(...)             what is open; hand stale records to one caller
    unknown(...) / expire(...) / summary(...)  batches of unknown outcome, the TTL, metrics

Times are Unix seconds (floats). A record's ``handed_at`` is when it was last
handed out (its fetch, then each claim): the age a claim's ``older_than`` is
measured against, so a claimed record is claimable again only after
``older_than`` more seconds without a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import logging

from callnos_gateway.errors import LedgerUnavailable

log = logging.getLogger("callnos_gateway.stores.ledger")

Cursor = tuple[float, str, str]  # (handed_at, task_id, customer_id) of the last record of a page


@dataclass(frozen=True, slots=True)
class Entry:
    """One open record: who holds it, since when, how often handed out, and the record as answered."""

    task_id: str
    customer_id: str
    batch_id: str
    client: str
    fetched_at: float
    handed_at: float
    attempts: int
    last_status: str | None
    last_status_at: float | None
    record: bytes  # the clean record's JSON, as the client got it

    @property
    def cursor(self) -> Cursor:
        return (self.handed_at, self.task_id, self.customer_id)


@dataclass(frozen=True, slots=True)
class Batch:
    """A callnos call under way (or one whose process died before its records were entered)."""

    batch_id: str
    request_id: str
    task_id: str
    client: str
    batch_size: int
    started_at: float


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """Open records of one task and the fetch time of the oldest."""

    task_id: str
    open_records: int
    oldest_fetched_at: float


@dataclass(frozen=True, slots=True)
class Page:
    """Open records in (handed_at, task_id, customer_id) order; ``next`` when more follow."""

    entries: list[Entry]
    next: Cursor | None


@dataclass(frozen=True, slots=True)
class Expired:
    """What left the ledger for being older than its TTL."""

    entries: list[Entry]
    batches: list[Batch]


class LedgerStore(Protocol):
    def begin(self, batch: Batch) -> None: ...
    def settle(self, batch: Batch, records: Sequence[tuple[str, bytes]], at: float) -> None: ...
    def drop(self, batch_id: str) -> None: ...
    def close(self, task_id: str, customer_id: str) -> bool: ...
    def note(self, task_id: str, customer_id: str, status: str, at: float) -> bool: ...
    def page(self, tasks: frozenset[str] | None, handed_before: float, limit: int,
             after: Cursor | None) -> Page: ...
    def claim(self, task_id: str, handed_before: float, limit: int, batch_id: str, client: str,
              at: float) -> list[Entry]: ...
    def unknown(self, started_before: float, tasks: frozenset[str] | None) -> list[Batch]: ...
    def expire(self, fetched_before: float, limit: int) -> Expired: ...
    def summary(self) -> list[TaskSummary]: ...
    def count_unknown(self, started_before: float) -> int: ...


def in_tasks(task_id: str, tasks: frozenset[str] | None) -> bool:
    """Whether ``task_id`` is one of ``tasks`` (None: every task)."""
    return tasks is None or task_id in tasks


def unavailable(error: BaseException) -> LedgerUnavailable:
    """The ledger's translation of a store failure (logged once, here, with the foreign error's text)."""
    log.error("ledger store failed: %s: %s", error.__class__.__name__, error)
    return LedgerUnavailable(f"The ledger store failed: {error.__class__.__name__}.")
