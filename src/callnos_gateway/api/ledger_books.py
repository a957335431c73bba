"""Keeping the ledger from the views: what is entered when, and what a failure of the store means.

- ``begin`` enters the batch as "in flight" before callnos is called; a store
  that cannot be written stops the request there (``503 ledger_unavailable``):
  nothing is taken.
- ``settle`` enters the records before the answer leaves. The records are
  taken by then, so a failure does not stop the answer: it is logged at ERROR
  with the ``batch_id`` and every customer, and counted.
- ``failed``: callnos failed. If the records may have been taken (a timeout,
  a lost connection, an unreadable answer) the in-flight entry stays, to be
  listed as a batch of unknown outcome; otherwise it is dropped.
- ``resulted``: a result accepted upstream closes its record (final) or notes
  its status (intermediate); a record the ledger never saw changes nothing.
- ``sweep``: records older than ``CALLNOS_LEDGER_TTL`` leave with a WARNING
  line each; run at most once per ``SWEEP_EVERY`` seconds per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from callnos_gateway.errors import MayHaveArrived, UpstreamError
from callnos_gateway.settings import Settings
from callnos_gateway.stores.ledger import Batch, LedgerStore, LedgerUnavailable, open_ledger
from callnos_gateway.api.ledger_metrics import EXPIRED, WRITE_FAILURES
from callnos_gateway.api.request_record import current

log = logging.getLogger("callnos.ledger")

SWEEP_EVERY = 30.0  # seconds between expiry sweeps of one process
SWEEP_LIMIT = 500  # records (and batches) removed per sweep
NO_CUSTOMER = "-"  # stands for a record without a customer id: "-<batch_id>-<position>"


class Books:
    """The ledger as the views use it; ``store`` is None when ``CALLNOS_LEDGER=off``."""

    def __init__(self, store: LedgerStore | None, ttl: int, unknown_after: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.ttl, self.unknown_after, self.clock = store, ttl, unknown_after, clock
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Books:
        store = open_ledger(settings.ledger_url) if settings.ledger else None
        return cls(store, settings.ledger_ttl, float(settings.total_timeout or 0))

    def begin(self, batch_id: str, request_id: str, task_id: str, client: str, batch_size: int) -> Batch | None:
        """Enter the batch as in flight; raises ``LedgerUnavailable`` (nothing sent yet)."""
        if self.store is None:
            return None
        batch = Batch(batch_id, request_id, task_id, client, batch_size, self.clock())
        self.store.begin(batch)
        return batch

    def failed(self, batch: Batch | None, error: UpstreamError) -> None:
        """callnos failed: keep the in-flight entry only if records may have been taken."""
        if batch is None or self.store is None or isinstance(error, MayHaveArrived):
            return
        try:
            self.store.drop(batch.batch_id)
        except LedgerUnavailable as failure:
            log.warning("in-flight batch not dropped: %s", failure.detail, extra={"batch_id": batch.batch_id})

    def settle(self, batch: Batch | None, records: Sequence[dict[str, Any]]) -> None:
        """Enter the records handed out; a failure is logged with every customer and counted, never raised."""
        if batch is None or self.store is None:
            return
        keyed = [(_customer(record, batch.batch_id, position), orjson.dumps(record))
                 for position, record in enumerate(records)]
        try:
            self.store.settle(batch, keyed, self.clock())
        except LedgerUnavailable as error:
            WRITE_FAILURES.inc()
            log.error("ledger entries not written: %s; %d records of task %s handed out untracked", error.detail,
                      len(keyed), batch.task_id,
                      extra={"batch_id": batch.batch_id, "customers": [customer for customer, _ in keyed]})
            return
        self.sweep()

    def resulted(self, task_id: str, customer_id: str, final: bool, status: str | None) -> None:
        """A result was accepted upstream: close the record, or note its intermediate status."""
        if self.store is None:
            return
        try:
            if final:
                self.store.close(task_id, customer_id)
            else:
                self.store.note(task_id, customer_id, status or "", self.clock())
        except LedgerUnavailable as error:
            WRITE_FAILURES.inc()
            log.error("ledger not updated after an accepted %s result: %s; task %s customer %s stays open",
                      "final" if final else "intermediate", error.detail, task_id, customer_id)

    def sweep(self) -> None:
        """Remove what outlived the TTL, at most once per ``SWEEP_EVERY`` seconds; each with a WARNING line."""
        now = self.clock()
        if self.store is None or now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SWEEP_EVERY
            expired = self.store.expire(now - self.ttl, SWEEP_LIMIT)
        except LedgerUnavailable as error:
            log.warning("ledger expiry skipped: %s", error.detail)
            return
        finally:
            self._sweep_lock.release()
        for entry in expired.entries:
            log.warning("ledger record expired unresulted after CALLNOS_LEDGER_TTL: task %s customer %s",
                        entry.task_id, entry.customer_id, extra={"batch_id": entry.batch_id})
        for batch in expired.batches:
            log.warning("ledger batch of unknown outcome expired after CALLNOS_LEDGER_TTL: task %s request %s",
                        batch.task_id, batch.request_id, extra={"batch_id": batch.batch_id})
        if count := len(expired.entries) + len(expired.batches):
            EXPIRED.inc(count)


def _customer(record: dict[str, Any], batch_id: str, position: int) -> str:
    customer = record.get("customer_id")
    return str(customer) if customer not in (None, "") else f"{NO_CUSTOMER}{batch_id}-{position}"


def client_label() -> str:
    """The request's client as the ledger names it (its configured name, else its key's short id)."""
    client = current().client
    return client.label if client is not None else "none"
