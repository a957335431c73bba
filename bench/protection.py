"""Upstream protection, measured: a hanging upstream under 16 clients, and what quotas cost per request.

``python -m bench.protection [--gateway-src DIR] [--seconds 40]``

1. ``hang``: the simulator holds every callnos call for 30 s (``latency:30000``)
   while 16 clients call ``POST /v1/call-data`` in a loop (100 ms apart, as a
   retrying dialer would), for ``--seconds``. Reported: requests answered,
   requests that waited (over 1 s), upstream calls made (the simulator's
   count), the most calls in flight at the upstream at once, and p50/p99.
   ``--gateway-src`` runs the gateway from another source tree (a checkout of
   the main branch, say: ``git archive main | tar -x -C /tmp/main``), so the
   same script measures before and after.
2. ``quota_cpu``: two gateways on one healthy simulator, quotas on (never
   reached) and off, take turns answering the same requests; the workers'
   user+system CPU (``/proc``) per request of each, and the difference
   (with ``--gateway-src``, a third gateway from that tree takes turns too).

Loopback only, bounded in time and count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.procs import cpu_seconds, serving
from tests.servers import free_port, gunicorn_env, simulator_process, worker_pids

TOKEN, API_KEY, CLIENTS = "bench-static-token", "bench-key", 16
BODY = {"task_id": 1001, "batch_size": 10}
WAITED = 1.0  # seconds: an answer slower than this made its client wait
PAUSE = 0.1  # seconds between a client's requests
THREADS: list[int] = []  # --threads: app slots per worker, when not the config's default
QUOTAS_ON = {"CALLNOS_QUOTA_REQUESTS": "10000000/hour", "CALLNOS_QUOTA_RECORDS": "1000000000/hour"}


def _simulator(tmp: Path, stack: ExitStack) -> str:
    """The simulator for the rest of the run, accepting the static token; its URL."""
    return stack.enter_context(simulator_process(tmp, "--static-token", TOKEN)).url


def _gateway(tmp: Path, stack: ExitStack, upstream: str, tag: str, src: str | None, **extra: str):
    port = free_port()
    env = gunicorn_env({"CALLNOS_UPSTREAM_URL": upstream, "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": TOKEN,
                        "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
                        "CALLNOS_QUOTA_URL": f"sqlite:///{tmp}/quotas-{tag}.sqlite3",
                        "CALLNOS_TOKEN_STORE": f"sqlite:///{tmp}/tokens-{tag}.sqlite3",
                        "CALLNOS_IDEMPOTENCY_URL": f"sqlite:///{tmp}/idem-{tag}.sqlite3",
                        "CALLNOS_DEAD_LETTER_DIR": str(tmp / f"dead-{tag}"), "GUNICORN_MAX_REQUESTS": "0",
                        "CALLNOS_LOG_LEVEL": "WARNING", **extra}, port)
    del env["GUNICORN_WORKERS"], env["GUNICORN_THREADS"]  # the config file's defaults (2 workers x 4 app slots)...
    env.update({"GUNICORN_THREADS": str(THREADS[0])} if THREADS else {})  # ...unless --threads says otherwise
    if src:
        env["PYTHONPATH"] = src
    command = "exec gunicorn -c python:callnos_gateway.server.gunicorn_config callnos_gateway.wsgi:app"
    return stack.enter_context(serving(["bash", "-c", command], port, tmp / f"gateway-{tag}.log", env))


def _sim(url: str, route: str, body: dict | None = None) -> dict:
    if body is None:
        return requests.get(f"{url}/_sim/{route}", timeout=5).json()
    return requests.post(f"{url}/_sim/{route}", json=body, timeout=5).json()


def _loop(url: str, until: float) -> list[tuple[float, int]]:
    """One client: requests back to back (PAUSE apart) until ``until``; (seconds, status) of each."""
    seen, session = [], requests.Session()
    while time.monotonic() < until:
        began = time.monotonic()
        try:
            status = session.post(url + "/v1/call-data", json=BODY, headers={"X-API-Key": API_KEY}, timeout=60).status_code
        except requests.RequestException:
            status = 0
        seen.append((time.monotonic() - began, status))
        time.sleep(PAUSE)
    return seen


def hang(seconds: float, src: str | None) -> dict:
    """16 looping clients against an upstream that holds every callnos call for 30 s."""
    with tempfile.TemporaryDirectory(prefix="callnos-protect-") as name, ExitStack() as stack:
        tmp = Path(name)
        sim = _simulator(tmp, stack)
        gateway = _gateway(tmp, stack, sim, "hang", src)
        _sim(sim, "run-fault", {"endpoint": "callnos", "fault": "latency:30000"})
        until = time.monotonic() + seconds
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [a for client in pool.map(lambda _: _loop(gateway.url, until), range(CLIENTS)) for a in client]
        stats = _sim(sim, "stats")
    times = sorted(t for t, _ in answers)
    statuses: dict[str, int] = {}
    for _, status in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"gateway_src": src or "this tree", "seconds": seconds, "clients": CLIENTS, "requests": len(answers),
            "waited": sum(t > WAITED for t in times), "upstream_calls": stats["callnos"],
            "max_in_flight": stats["max_in_flight"], "p50_s": round(statistics.median(times), 3),
            "p99_s": round(times[int(0.99 * (len(times) - 1))], 3), "statuses": statuses}


def quota_cpu(requests_per_round: int, rounds: int, src: str | None = None) -> dict:
    """Workers' CPU per request with quotas on and off, taking turns on one simulator.

    With ``src`` a third gateway from that source tree (the main branch: no
    protection at all) takes its turns too, to price the cap and the breaker.
    """
    with tempfile.TemporaryDirectory(prefix="callnos-quota-cpu-") as name, ExitStack() as stack:
        tmp = Path(name)
        sim = _simulator(tmp, stack)
        gateways = {"off": _gateway(tmp, stack, sim, "off", None), "on": _gateway(tmp, stack, sim, "on", None, **QUOTAS_ON)}
        if src:
            gateways["other_src"] = _gateway(tmp, stack, sim, "other", src)
        cpu = {tag: 0.0 for tag in gateways}
        for _ in range(rounds):
            for tag, gateway in gateways.items():
                pids = worker_pids(gateway.process.pid)
                before = cpu_seconds(pids)
                _burst(gateway.url, requests_per_round)
                cpu[tag] += cpu_seconds(pids) - before
    total = requests_per_round * rounds
    per_request = {tag: round(seconds / total * 1e6) for tag, seconds in cpu.items()}
    return {"requests_each": total, "cpu_us_per_request": per_request,
            "quota_cost_us_per_request": per_request["on"] - per_request["off"]}


def _burst(url: str, count: int) -> None:
    def one(_: int) -> int:
        return requests.post(url + "/v1/call-data", json=BODY, headers={"X-API-Key": API_KEY}, timeout=30).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = set(pool.map(one, range(count)))
    if statuses != {200}:
        raise RuntimeError(f"quota_cpu: unexpected statuses {statuses}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.protection", description=__doc__.splitlines()[0])
    parser.add_argument("--gateway-src", help="run the hang scenario's gateway from this src/ directory "
                        "(and add one from it to quota_cpu)")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of the hang scenario (default 40)")
    parser.add_argument("--only", choices=("hang", "quota_cpu"), help="run one scenario")
    parser.add_argument("--requests", type=int, default=1000, help="quota_cpu: requests per round per gateway")
    parser.add_argument("--rounds", type=int, default=3, help="quota_cpu: rounds")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS for every gateway (default: the config's)")
    args = parser.parse_args()
    THREADS[:] = [args.threads] if args.threads else []
    results = {"load_average": [round(v, 2) for v in os.getloadavg()], "gunicorn_threads": args.threads or "default"}
    if args.only in (None, "hang"):
        results["hang"] = hang(args.seconds, args.gateway_src)
    if args.only in (None, "quota_cpu"):
        results["quota_cpu"] = quota_cpu(args.requests, args.rounds, args.gateway_src)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
