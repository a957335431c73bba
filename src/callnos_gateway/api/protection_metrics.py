"""Metrics of quotas and upstream protection.

Refusals, busy answers, slot waits and circuit transitions are counted where
they happen (each worker writes its own multiprocess files, ``/metrics``
sums them). Slots in use and the circuit's state are deployment-wide facts,
so they are read from the shared store when ``/metrics`` is scraped, not
kept per process.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from callnos_gateway.api.metrics import PREFIX
from callnos_gateway.stores.protection import ProtectionStore, ProtectionStoreUnavailable
from callnos_gateway.upstream.protection import ProtectionEvents
from callnos_gateway.upstream.protection.circuit import STATE_NUMBERS, state_of

WAIT_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
log = logging.getLogger("callnos.metrics")

QUOTA_REFUSALS = Counter(PREFIX + "quota_refusals", "Requests refused 429 quota_exceeded, by client and quota.",
                         ["client", "quota"])
SLOT_WAIT = Histogram(PREFIX + "upstream_slot_wait_seconds", "Time a call waited for an upstream slot (taken ones).",
                      buckets=WAIT_SECONDS)
BUSY = Counter(PREFIX + "upstream_busy", "Calls refused 503 upstream_busy: no upstream slot within the queue wait.")
TRANSITIONS = Counter(PREFIX + "circuit_transitions", "Moves of the circuit to the upstream, by the state moved to.",
                      ["to"])
for _state in STATE_NUMBERS:
    TRANSITIONS.labels(_state)  # zeros from the start, so increase() sees the first one


def count_refusal(client: str, quota: str) -> None:
    """Count a 429 of ``client`` on ``quota``."""
    QUOTA_REFUSALS.labels(client, quota).inc()


EVENTS = ProtectionEvents(
    waited=SLOT_WAIT.observe,
    busy=BUSY.inc,
    transition=lambda to: TRANSITIONS.labels(to).inc(),
)


class SharedStateCollector:
    """Slots in use and the circuit's state, read from the deployment's store at scrape time."""

    def __init__(self, store: ProtectionStore) -> None:
        self.store = store

    def collect(self):  # type: ignore[no-untyped-def]
        try:
            in_use, row = self.store.slots_in_use(), self.store.circuit()
        except ProtectionStoreUnavailable as error:
            log.warning("protection store unavailable at scrape (%s)", error)
            return
        yield GaugeMetricFamily(PREFIX + "upstream_slots_in_use", "Upstream calls in flight now, deployment-wide.",
                                value=in_use)
        yield GaugeMetricFamily(PREFIX + "circuit_state", "Circuit to the upstream: 0 closed, 1 half-open, 2 open.",
                                value=STATE_NUMBERS[state_of(row, time.time())])
