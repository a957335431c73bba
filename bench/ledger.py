"""Section ``ledger``: what the ledger costs a call-data request, in CPU of the gunicorn workers.

Three gateways run side by side against ``bench.upstream``, each one gunicorn
worker (the shipped config otherwise): ``CALLNOS_LEDGER=off`` (the bare
pass-through of the ledger's cost), the SQLite ledger, and the Redis ledger
on a throwaway ``redis-server``. For 100 and 1,000 records a request, the
same sequential requests go to each in turn, round by round; the judge is the
worker's utime+stime from /proc (not wall time, which a shared machine
blurs), per request. The figure is the median per-request CPU minus the
``off`` one's. The contract's bound: entering 100 records adds at most 0.3 ms.

The upstream answers the same records each time, so after the first request
each entry replaces its own earlier row (an upsert: the same index work as a
new row, while the ledger stays small).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import redis
import requests

from bench.e2e import API_KEY, settings_env
from bench.procs import cpu_seconds, serving
from bench.records import TASK_OF_MIX
from tests.servers import free_port, gunicorn_env, worker_pids

MODES = ("off", "sqlite", "redis")
REQUESTS = {100: 200, 1000: 40}  # per mode and round
BOUND_MS_100 = 0.3


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, no persistence; its URL."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _gateway(tmp: Path, upstream_url: str, mode: str, redis_url: str):
    port = free_port()
    ledger = {"off": {"CALLNOS_LEDGER": "off"}, "sqlite": {"CALLNOS_LEDGER_URL": f"sqlite:///{tmp}/ledger.sqlite3"},
              "redis": {"CALLNOS_LEDGER_URL": redis_url}}[mode]
    env = gunicorn_env({**settings_env(upstream_url), **ledger,
                        "CALLNOS_IDEMPOTENCY_URL": f"sqlite:///{tmp}/idem-{mode}.sqlite3",
                        "CALLNOS_TOKEN_STORE": "memory"}, port, workers=1)
    del env["GUNICORN_THREADS"]
    command = "exec gunicorn -c python:callnos_gateway.server.gunicorn_config callnos_gateway.wsgi:app"
    return serving(["bash", "-c", command], port, tmp / f"gateway-{mode}.log", env)


def _cpu_ms_per_request(session: requests.Session, url: str, pids: list[int], size: int, count: int) -> float:
    body = json.dumps({"task_id": TASK_OF_MIX["realistic"], "batch_size": size})
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    before = cpu_seconds(pids)
    for _ in range(count):
        answer = session.post(url + "/v1/call-data", data=body, headers=headers, timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:200]}")
    return (cpu_seconds(pids) - before) * 1000 / count


def run(rounds: int = 5) -> dict:
    """Start the upstream, a redis-server and three gateways; CPU per request by mode and size."""
    with tempfile.TemporaryDirectory(prefix="callnos-bench-ledger-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        port = free_port()
        up = stack.enter_context(serving(["python", "-m", "bench.upstream", "--port", str(port)], port,
                                         tmp / "upstream.log"))
        redis_url = stack.enter_context(redis_server(tmp))
        servers = {mode: stack.enter_context(_gateway(tmp, up.url, mode, redis_url)) for mode in MODES}
        pids = {mode: worker_pids(server.process.pid) for mode, server in servers.items()}
        sessions = {mode: stack.enter_context(requests.Session()) for mode in MODES}
        samples: dict[int, dict[str, list[float]]] = {size: {mode: [] for mode in MODES} for size in REQUESTS}
        for size, count in REQUESTS.items():
            for mode in MODES:  # warm up: connections, the first token, the ledger's file or scripts
                _cpu_ms_per_request(sessions[mode], servers[mode].url, pids[mode], size, 5)
            for _ in range(rounds):
                for mode in MODES:
                    samples[size][mode].append(
                        _cpu_ms_per_request(sessions[mode], servers[mode].url, pids[mode], size, count))
    cpu = {size: {mode: round(statistics.median(values), 3) for mode, values in by_mode.items()}
           for size, by_mode in samples.items()}
    added = {size: {mode: round(by_mode[mode] - by_mode["off"], 3) for mode in ("sqlite", "redis")}
             for size, by_mode in cpu.items()}
    return {"rounds": rounds, "requests_per_round": REQUESTS, "worker_cpu_ms_per_request": cpu,
            "ledger_added_cpu_ms": added, "bound_ms_100": BOUND_MS_100}


def render(result: dict) -> str:
    lines = ["worker CPU (utime+stime) per call-data request, ms; added = minus CALLNOS_LEDGER=off",
             "| records | off | sqlite | redis | added sqlite | added redis |", "|---|---|---|---|---|---|"]
    for size, by_mode in result["worker_cpu_ms_per_request"].items():
        added = result["ledger_added_cpu_ms"][size]
        lines.append(f"| {size} | {by_mode['off']} | {by_mode['sqlite']} | {by_mode['redis']} "
                     f"| {added['sqlite']} | {added['redis']} |")
    return "\n".join(lines)


def verdicts(result: dict) -> list[tuple[str, str, bool]]:
    added = {int(size): cell for size, cell in result["ledger_added_cpu_ms"].items()}[100]
    return [(f"ledger adds <= {BOUND_MS_100} ms CPU per 100 records ({store})", f"{added[store]} ms",
             added[store] <= BOUND_MS_100) for store in ("sqlite", "redis")]
