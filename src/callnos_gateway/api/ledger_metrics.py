"""The ledger's metrics: gauges read from the store at each scrape, counters of what this process did.

Why read at scrape time: open records and batches of unknown outcome are
facts of the deployment's one ledger (every worker's, every instance's),
not of the worker that answers the scrape, so a collector asks the store
each time ``/metrics`` is read (``callnos_gateway.api.metrics.SCRAPE_TIME``).
Every instance reports the same values: aggregate them with ``max``, not
``sum``. The counters are ordinary per-process counters (summed per host
by the multiprocess mode, across instances by ``sum``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from callnos_gateway.api.metrics import PREFIX as METRICS_PREFIX
from callnos_gateway.stores.ledger import LedgerStore, LedgerUnavailable

log = logging.getLogger("callnos.ledger")

PREFIX = METRICS_PREFIX + "ledger_"
CLAIMS = Counter(PREFIX + "claims", "Claims that handed over at least one stale record.")
REDELIVERIES = Counter(PREFIX + "redeliveries", "Records handed out again by a claim.")
EXPIRED = Counter(PREFIX + "expired", "Records (and batches of unknown outcome) removed after CALLNOS_LEDGER_TTL.")
WRITE_FAILURES = Counter(PREFIX + "write_failures", "Ledger writes that failed after records were taken or "
                         "results accepted; each is logged at ERROR.")


class LedgerCollector:
    """Open records and the oldest's age by task, and batches of unknown outcome, from the store."""

    def __init__(self, store: LedgerStore, unknown_after: float, clock: Callable[[], float] = time.time) -> None:
        self.store, self.unknown_after, self.clock = store, unknown_after, clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        try:
            summary = self.store.summary()
            unknown = self.store.count_unknown(now - self.unknown_after)
        except LedgerUnavailable as error:
            log.warning("ledger metrics not read: %s", error.detail)
            return
        open_records = GaugeMetricFamily(PREFIX + "open_records", "Records handed out and not yet resulted, by task "
                                         "(the whole deployment's, from the store).", labels=["task"])
        oldest = GaugeMetricFamily(PREFIX + "oldest_open_seconds", "Age of the oldest open record, by task "
                                   "(from the store).", labels=["task"])
        for task in summary:
            open_records.add_metric([task.task_id], task.open_records)
            oldest.add_metric([task.task_id], max(0.0, now - task.oldest_fetched_at))
        yield open_records
        yield oldest
        yield GaugeMetricFamily(PREFIX + "unknown_batches", "Batches still in flight after CALLNOS_TOTAL_TIMEOUT: "
                                "records may have been taken and delivered to nobody (from the store).", value=unknown)
