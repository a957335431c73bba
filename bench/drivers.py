"""The two load drivers of the end-to-end benchmark, behind one call.

Why two: the Python driver (``bench.load_driver``) needs a core of its own on
a 2-core machine, which it takes from the processes being measured; wrk (C,
epoll) needs a small share of one. ``wrk`` is used when installed (Debian:
``apt-get install wrk``), the Python driver otherwise, and every figure says
which one measured it. Both are bounded by a request count and a time, and
both send to loopback only.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.load_driver import require_loopback, run_load

WRK_SCRIPT = Path(__file__).with_name("wrk_post.lua")


@dataclass
class Sample:
    """One bounded run of one driver against one URL."""

    driver: str
    clients: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx answers and socket errors
    driver_cpu_s: float

    @property
    def req_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "req_per_s": self.req_per_s}


def pick(requested: str) -> str:
    """``wrk`` or ``python``: the requested driver, or for ``auto`` wrk when it is installed."""
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise SystemExit("bench: --driver wrk asked for, but wrk is not installed (apt-get install wrk)")
    return requested


def load(driver: str, url: str, body: dict, header: tuple[str, str], clients: int, requests: int,
         seconds: float) -> Sample:
    """Send up to ``requests`` POSTs from ``clients`` keep-alive clients, for at most ``seconds``."""
    require_loopback(url)
    if driver == "wrk":
        return _wrk(url, body, header, clients, requests, seconds)
    return _python(url, body, header, clients, requests, seconds)


def _wrk(url: str, body: dict, header: tuple[str, str], clients: int, requests: int, seconds: float) -> Sample:
    threads = min(clients, os.cpu_count() or 1)
    env = {**os.environ, "BENCH_BODY": json.dumps(body), "BENCH_HEADER": header[0],
           "BENCH_HEADER_VALUE": header[1], "BENCH_LIMIT": str(math.ceil(requests / threads))}
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "-s", str(WRK_SCRIPT), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 30, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCH "))
    found = json.loads(line.removeprefix("BENCH "))
    return Sample("wrk", clients, found["requests"], found["duration_us"] / 1e6, found["p50_us"] / 1e3,
                  found["p99_us"] / 1e3, found["non_2xx"] + found["socket_errors"], _cpu_delta(before, after))


def _python(url: str, body: dict, header: tuple[str, str], clients: int, requests: int,
            seconds: float) -> Sample:
    cpu = time.process_time()
    result = run_load(url, clients=clients, requests_total=requests, seconds=seconds, body=body,
                      headers=dict([header]), decode=False)
    return Sample("python", clients, result.sent, result.seconds, result.percentile(0.5), result.percentile(0.99),
                  result.sent - result.statuses[200], time.process_time() - cpu)


def _cpu_delta(before: resource.struct_rusage, after: resource.struct_rusage) -> float:
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
