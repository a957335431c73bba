"""A minimal dialer process for the ledger's crash story (run by tests/test_ledger_processes.py).

    python tests/ledger_dialer.py take URL KEY TASK BATCHES SIZE   fetch, print what was taken, then hang
    python tests/ledger_dialer.py recover URL KEY TASK             claim everything stale, write a final result each

The first is killed with SIGKILL before it writes a single result, as a
crashed dialer would be; the second is the restarted one.
"""

from __future__ import annotations

import json
import sys
import time

import requests


def call(method: str, url: str, key: str, body: dict) -> dict:
    answer = requests.request(method, url, json=body, headers={"X-API-Key": key}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def take(url: str, key: str, task: str, batches: int, size: int) -> None:
    customers = []
    for _ in range(batches):
        customers += [r["customer_id"] for r in call("POST", url + "/v1/call-data", key,
                                                     {"task_id": int(task), "batch_size": size})["records"]]
    print(json.dumps({"taken": customers}), flush=True)
    time.sleep(3600)  # "dialling": the test kills us here


def recover(url: str, key: str, task: str) -> None:
    claimed, resulted = [], 0
    while (batch := call("POST", url + "/v1/outstanding/claim", key,
                         {"task_id": int(task), "older_than": 0, "limit": 25}))["count"]:
        for record in batch["records"]:
            assert record["redelivered"] is True
            claimed.append(record["customer_id"])
            call("POST", url + "/v1/call-results", key,
                 {"task_id": record["task_id"], "customer_id": record["customer_id"], "status": "0"})
            resulted += 1
    print(json.dumps({"claimed": claimed, "resulted": resulted}), flush=True)


if __name__ == "__main__":
    mode, url, key, task, *numbers = sys.argv[1:]
    if mode == "take":
        take(url, key, task, int(numbers[0]), int(numbers[1]))
    else:
        recover(url, key, task)
