"""``callnos-gateway ledger``: open records by task and age, for an operator; or all of them as CSV or JSON lines.

Reads the store ``CALLNOS_LEDGER_URL`` names (or ``--url``), the same one the
gateway writes, so it sees every worker's and every instance's records. It
changes nothing: closing and claiming stay with the API.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from callnos_gateway.settings.store_urls import LEDGER_DEFAULT_URL
from callnos_gateway.stores.ledger import Entry, LedgerStore, LedgerUnavailable, open_ledger

HELP = "Show the ledger's open records by task and age, or export them (--export csv|jsonl)."
AGES = ((3600.0, "<1h"), (86400.0, "1h-1d"), (float("inf"), ">1d"))
COLUMNS = ("task_id", "customer_id", "batch_id", "client", "fetched_at", "age_seconds", "attempts", "last_status",
           "record")
PAGE = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("CALLNOS_LEDGER_URL") or LEDGER_DEFAULT_URL,
                        help="the ledger store (default: CALLNOS_LEDGER_URL, else %(default)s)")
    parser.add_argument("--export", choices=("csv", "jsonl"), help="print every open record in this format")
    parser.add_argument("--unknown-after", type=float, default=12.0, metavar="SECONDS",
                        help="in-flight batches older than this are of unknown outcome (CALLNOS_TOTAL_TIMEOUT)")


def run(args: argparse.Namespace) -> int:
    try:
        store, now = open_ledger(args.url), time.time()
        if args.export:
            _export(store, args.export, now)
        else:
            _summary(store, now, args.unknown_after)
    except (LedgerUnavailable, ValueError) as error:
        print(f"ledger: {getattr(error, 'detail', error)}", file=sys.stderr)
        return 2
    return 0


def _summary(store: LedgerStore, now: float, unknown_after: float) -> None:
    by_task: dict[str, dict[str, int]] = {}
    for entry in _entries(store, now):
        ages = by_task.setdefault(entry.task_id, dict.fromkeys((label for _, label in AGES), 0))
        ages[next(label for limit, label in AGES if now - entry.fetched_at < limit)] += 1
    print(f"{'task':<12} {'open':>8} {'oldest':>10} " + " ".join(f"{label:>8}" for _, label in AGES))
    oldest = {task.task_id: now - task.oldest_fetched_at for task in store.summary()}
    for task, ages in sorted(by_task.items()):
        print(f"{task:<12} {sum(ages.values()):>8} {oldest.get(task, 0):>9.0f}s "
              + " ".join(f"{count:>8}" for count in ages.values()))
    unknown = store.unknown(now - unknown_after, None)
    print(f"batches of unknown outcome (in flight over {unknown_after:g} s): {len(unknown)}")
    for batch in unknown:
        print(f"  task {batch.task_id} batch {batch.batch_id} request {batch.request_id} size {batch.batch_size}"
              f" client {batch.client} age {now - batch.started_at:.0f}s")


def _export(store: LedgerStore, kind: str, now: float) -> None:
    rows = (_row(entry, now) for entry in _entries(store, now))
    if kind == "jsonl":
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    writer = csv.DictWriter(sys.stdout, COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "record": json.dumps(row["record"], ensure_ascii=False)})


def _entries(store: LedgerStore, now: float) -> Iterator[Entry]:
    after = None
    while True:
        page = store.page(None, now, PAGE, after)
        yield from page.entries
        if page.next is None:
            return
        after = page.next


def _row(entry: Entry, now: float) -> dict[str, Any]:
    return {"task_id": entry.task_id, "customer_id": entry.customer_id, "batch_id": entry.batch_id,
            "client": entry.client, "fetched_at": entry.fetched_at, "age_seconds": round(now - entry.fetched_at, 3),
            "attempts": entry.attempts, "last_status": entry.last_status, "record": json.loads(entry.record)}
