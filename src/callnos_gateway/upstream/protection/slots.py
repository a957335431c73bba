"""The upstream concurrency cap: at most ``CALLNOS_UPSTREAM_CONCURRENCY`` calls in flight per deployment.

A call waits up to ``CALLNOS_UPSTREAM_QUEUE_TIMEOUT`` s for a slot, polling
the shared store (a slot held by another worker or instance frees no local
event to wait on), then gives up with ``503 upstream_busy``. Polls start
short and back off, so a free slot is found quickly without spinning.
"""

from __future__ import annotations

import logging
import time
import uuid

from callnos_gateway.errors import UpstreamBusy
from callnos_gateway.stores.protection import ProtectionStore, ProtectionStoreUnavailable
from callnos_gateway.upstream.protection.events import ProtectionEvents

log = logging.getLogger("callnos.slots")

FIRST_POLL, LAST_POLL = 0.005, 0.05
BUSY_RETRY_AFTER = 1


class Slots:
    """Takes and gives back upstream slots in the shared store."""

    def __init__(self, store: ProtectionStore, cap: int, queue_timeout: float, lease: float,
                 events: ProtectionEvents) -> None:
        self.store, self.cap, self.queue_timeout = store, cap, queue_timeout
        self.lease, self.events = lease, events

    def take(self) -> tuple[str | None, bool]:
        """Wait for a slot; its holder id (None: the store is down, go unguarded) and whether it waited."""
        holder, started, pause = uuid.uuid4().hex, time.monotonic(), FIRST_POLL
        while True:
            try:
                if self.store.take_slot(holder, self.cap, self.lease):
                    self.events.waited(time.monotonic() - started)
                    return holder, pause > FIRST_POLL
            except ProtectionStoreUnavailable as error:
                log.warning("slot store unavailable (%s); calling the upstream without a slot", error)
                return None, False
            if time.monotonic() - started + pause > self.queue_timeout:
                self.events.busy()
                raise UpstreamBusy(f"All {self.cap} upstream slots stayed in use for "
                                   f"{self.queue_timeout:g} s.", BUSY_RETRY_AFTER)
            time.sleep(pause)
            pause = min(LAST_POLL, pause * 2)

    def give_back(self, holder: str | None) -> None:
        """Free the slot (its lease frees it anyway if this fails)."""
        if holder is None:
            return
        try:
            self.store.give_slot(holder)
        except ProtectionStoreUnavailable as error:
            log.warning("slot store unavailable (%s); the slot frees itself when its lease ends", error)
