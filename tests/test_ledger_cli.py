"""``callnos-gateway ledger``: open records by task and age, and the exports, from a real store."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time

from callnos_gateway.stores.ledger import Batch, open_ledger


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "callnos_gateway.cli", "ledger", *args],
                          capture_output=True, text=True, timeout=60)


def test_it_prints_open_records_by_task_and_age_and_exports_them(store_url):
    store, now = open_ledger(store_url), time.time()
    store.settle(Batch("b1", "r1", "1001", "east", 2, now), [("c1", b'{"customer_id": "c1"}'),
                                                            ("c2", b'{"customer_id": "c2"}')], now - 7200)
    store.settle(Batch("b2", "r2", "1002", "west", 1, now), [("c3", b'{"customer_id": "c3"}')], now - 10)
    store.begin(Batch("lost", "req-lost", "1001", "east", 5, now - 100))
    summary = run("--url", store_url)
    assert summary.returncode == 0, summary.stderr
    lines = summary.stdout.splitlines()
    assert lines[1].split()[:2] == ["1001", "2"] and lines[1].split()[-2:] == ["2", "0"]  # both 1h-1d
    assert lines[2].split()[:2] == ["1002", "1"]
    assert "unknown outcome" in lines[3] and lines[3].endswith(": 1") and "request req-lost" in lines[4]
    jsonl = [json.loads(line) for line in run("--url", store_url, "--export", "jsonl").stdout.splitlines()]
    assert [(row["task_id"], row["customer_id"]) for row in jsonl] == [("1001", "c1"), ("1001", "c2"), ("1002", "c3")]
    assert jsonl[0]["record"] == {"customer_id": "c1"}
    rows = list(csv.DictReader(io.StringIO(run("--url", store_url, "--export", "csv").stdout)))
    assert [row["customer_id"] for row in rows] == ["c1", "c2", "c3"]


def test_a_store_it_cannot_read_is_one_line_and_exit_2():
    answer = run("--url", "redis://127.0.0.1:1/0")
    assert answer.returncode == 2 and answer.stderr.splitlines()[-1].startswith("ledger: ")
    assert "Traceback" not in answer.stderr
