"""A bounded load driver for the gateway: N clients, keep-alive, a request cap and a time cap.

Used by the load tests (short form in ``make test``) and by the benchmark. It
records every answer's status and problem code, the records received and
their customer ids, so a caller can check that nothing was taken twice or
lost. Loopback only: it refuses any other host.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

LOOPBACK_NAMES = {"localhost"}


@dataclass
class LoadResult:
    """What a run saw, summed over all clients."""

    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)
    records: int = 0
    customer_ids: list = field(default_factory=list)
    latencies_ms: list = field(default_factory=list)
    seconds: float = 0.0
    errors_with_possible_loss: int = 0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def summary(self) -> dict:
        return {
            "sent": self.sent, "statuses": dict(self.statuses), "codes": dict(self.codes),
            "records": self.records, "seconds": round(self.seconds, 3),
            "req_per_s": round(self.sent / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(self.percentile(0.5), 2), "p99_ms": round(self.percentile(0.99), 2),
        }


def require_loopback(url: str) -> None:
    """Refuse to send load anywhere but this machine."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in LOOPBACK_NAMES:
        return
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"load goes to loopback only, not {host}")


class _Client:
    """One keep-alive client; appends what it saw to a shared result under a lock.

    ``decode=False`` leaves 200 answers undecoded (no records or customer ids
    are kept): the benchmark's fallback driver, which must spend its CPU on
    sending, not on reading JSON.
    """

    def __init__(self, url: str, body: dict, headers: dict, result: LoadResult, lock: threading.Lock,
                 decode: bool = True) -> None:
        self.url, self.body, self.headers = url, body, headers
        self.result, self.lock, self.decode = result, lock, decode
        self.session = requests.Session()

    def one(self) -> None:
        started = time.perf_counter()
        status, code, ids = self._send()
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.result.sent += 1
            self.result.statuses[status] += 1
            self.result.latencies_ms.append(elapsed)
            if code:
                self.result.codes[code] += 1
            if code in ("client_connection_error", "upstream_timeout", "upstream_connection_lost",
                        "upstream_bad_response", "upstream_error"):
                self.result.errors_with_possible_loss += 1
            self.result.records += len(ids)
            self.result.customer_ids.extend(ids)

    def _send(self) -> tuple[int, str | None, list]:
        try:
            response = self.session.post(self.url, json=self.body, headers=self.headers, timeout=30)
        except requests.RequestException:
            self.session = requests.Session()
            return 0, "client_connection_error", []
        if response.status_code == 200:
            return 200, None, [r["customer_id"] for r in response.json()["records"]] if self.decode else []
        try:
            return response.status_code, response.json().get("code", "unknown"), []
        except ValueError:
            return response.status_code, "not_a_problem", []


def run_load(url: str, *, clients: int, requests_total: int, seconds: float, body: dict,
             headers: dict, decode: bool = True) -> LoadResult:
    """Send up to ``requests_total`` fetches from ``clients`` threads, stopping after ``seconds``."""
    require_loopback(url)
    result, lock = LoadResult(), threading.Lock()
    remaining = iter(range(requests_total))
    deadline = time.monotonic() + seconds

    def work(_: int) -> None:
        client = _Client(url, body, headers, result, lock, decode)
        while time.monotonic() < deadline:
            with lock:
                if next(remaining, None) is None:
                    return
            client.one()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(work, range(clients)))
    result.seconds = time.monotonic() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="e.g. http://127.0.0.1:8080/v1/call-data")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--task-id", type=int, default=1001)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--api-key", default="local-dev-key")
    args = parser.parse_args()
    result = run_load(args.url, clients=args.clients, requests_total=args.requests, seconds=args.seconds,
                      body={"task_id": args.task_id, "batch_size": args.batch_size},
                      headers={"X-API-Key": args.api_key})
    print(json.dumps(result.summary()))


if __name__ == "__main__":
    main()
