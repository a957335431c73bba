"""Section 3: end to end under gunicorn, and the simulator alone, side by side.

The simulator runs with ``--precomputed`` (one cached answer body per task and
batch size, no queue, no JSON encoding), so what the gateway adds on top of it
is the gateway's own cost. The gateway runs as in production:
``gunicorn -c gunicorn.conf.py wsgi:app``, 2 workers x 4 threads, access log
on, static token (no login in the way). Each round measures, at 1 and 16
clients, the simulator directly and then the gateway in front of it; the
figures are medians over the rounds. Worker recycling is off for the run (see
``gateway_env``); everything else is gunicorn.conf.py's.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.drivers import Sample, load
from bench.procs import cpu_seconds, peak_rss_mb
from tests.servers import gunicorn_process, simulator_process, worker_pids  # the test suite's process helpers

TOKEN, API_KEY = "bench-static-token", "bench-key"
BATCH, TASK_ID = 100, 1001
CALLNOS_PATH = "/rest/isales/v1/openapi/obs/business/callnos"
CLIENTS = (1, 16)
SECONDS = 3  # per run: the time cap, and what wrk measures over (so its count cap must not be reached)
# target -> clients -> request cap: several times what a run can send on this machine
CAPS = {"simulator": {1: 60_000, 16: 120_000}, "gateway": {1: 6_000, 16: 12_000}}


@dataclass
class Target:
    """Where to send load, what to send, and whose CPU to account for."""

    name: str
    url: str
    body: dict
    header: tuple[str, str]
    pids: Callable[[], list[int]]


def gateway_env(sim_url: str) -> dict[str, str]:
    """The gateway's settings: the simulator upstream, a static token, one inbound key.

    The one change to gunicorn.conf.py's defaults: no worker recycling. At
    ~500 requests/s a worker reaches ``max_requests`` (10,000) in ~20 s, and a
    restart mid-run would lose its CPU and peak-RSS figures.
    """
    return {"CALLNOS_UPSTREAM_URL": sim_url, "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": TOKEN,
            "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
            "GUNICORN_MAX_REQUESTS": "0"}


def run(driver: str, rounds: int = 5, app: str = "wsgi:app") -> dict:
    """Start both servers on free loopback ports, measure, stop them; the section's figures."""
    command = f"gunicorn -c gunicorn.conf.py {app}"
    with tempfile.TemporaryDirectory(prefix="callnos-bench-") as tmp, \
            simulator_process(Path(tmp), "--precomputed", "--static-token", TOKEN) as sim, \
            gunicorn_process(Path(tmp), gateway_env(sim.url), command=command) as gateway:
        sim_target, gw_target = _targets(sim, gateway)
        _check_batches(sim_target, gw_target)
        for target in (sim_target, gw_target):
            load(driver, target.url, target.body, target.header, 4, 10_000, 1)  # warm up
        workers = worker_pids(gateway.process.pid)
        samples = _rounds(driver, (sim_target, gw_target), sim.process.pid, rounds)
        recycled = workers != worker_pids(gateway.process.pid)
        rss = {str(pid): peak_rss_mb(pid) for pid in workers}
    return {"driver": driver, "rounds": rounds, "batch": BATCH, "command": command, "rows": _rows(samples),
            "worker_peak_rss_mb": rss, "workers_recycled": recycled}


def _targets(sim, gateway) -> tuple[Target, Target]:
    sim_body = {"subCCNo": 1, "vdnId": 1, "serviceId": TASK_ID, "batchCount": BATCH}
    simulator = Target("simulator", sim.url + CALLNOS_PATH, sim_body, ("Authorization", f"Bearer {TOKEN}"),
                       lambda: [sim.process.pid])
    gw = Target("gateway", gateway.url + "/v1/call-data", {"task_id": TASK_ID, "batch_size": BATCH},
                ("X-API-Key", API_KEY), lambda: [gateway.process.pid, *worker_pids(gateway.process.pid)])
    return simulator, gw


def _check_batches(sim: Target, gateway: Target) -> None:
    """Both answer 200 with BATCH records, so records/s is requests/s times BATCH."""
    for target, count in ((sim, lambda doc: len(doc["resultData"]["taskData"])), (gateway, lambda doc: doc["count"])):
        answer = requests.post(target.url, json=target.body, headers=dict([target.header]), timeout=10)
        if answer.status_code != 200 or count(answer.json()) != BATCH:
            raise RuntimeError(f"{target.name} answered {answer.status_code} {answer.text[:200]}")


def _rounds(driver: str, targets: tuple[Target, Target], sim_pid: int, rounds: int) -> list[dict]:
    """Each round: for 1 and 16 clients, the simulator alone, then the gateway."""
    samples = []
    for _ in range(rounds):
        for clients in CLIENTS:
            for target in targets:
                samples.append(_measure(driver, target, sim_pid, clients))
    return samples


def _measure(driver: str, target: Target, sim_pid: int, clients: int) -> dict:
    """One bounded run, with the CPU the gateway and the simulator spent on it."""
    cap = CAPS[target.name][clients]
    pids = target.pids() if target.name == "gateway" else []
    before = [cpu_seconds([pid]) for pid in pids], cpu_seconds([sim_pid])
    sample: Sample = load(driver, target.url, target.body, target.header, clients, cap, SECONDS)
    if sample.requests >= cap:
        raise RuntimeError(f"{target.name} reached the request cap {cap}: raise it, or wrk's rate is wrong")
    by_process = [cpu_seconds([pid]) - spent for pid, spent in zip(pids, before[0])]
    return {"target": target.name, **sample.as_dict(), "gateway_cpu_s": sum(by_process),
            "busiest_worker_share": max(by_process[1:]) / sum(by_process[1:]) if sum(by_process[1:]) else None,
            "simulator_cpu_s": cpu_seconds([sim_pid]) - before[1]}


def _rows(samples: list[dict]) -> list[dict]:
    """Medians over rounds per (clients, target), and what the gateway adds."""
    rows = []
    for clients in CLIENTS:
        row: dict = {"clients": clients}
        for name in ("simulator", "gateway"):
            row[name] = _median_of([s for s in samples if s["clients"] == clients and s["target"] == name])
        sim, gw = row["simulator"], row["gateway"]
        row["added_p50_ms"] = gw["p50_ms"] - sim["p50_ms"]
        row["added_p99_ms"] = gw["p99_ms"] - sim["p99_ms"]
        row["throughput_ratio"] = gw["req_per_s"] / sim["req_per_s"]
        rows.append(row)
    return rows


def _median_of(samples: list[dict]) -> dict:
    requests_ = sum(s["requests"] for s in samples)
    median = {key: statistics.median(s[key] for s in samples) for key in ("p50_ms", "p99_ms", "req_per_s")}
    median["records_per_s"] = median["req_per_s"] * BATCH
    median["failed"] = sum(s["failed"] for s in samples)
    for key in ("gateway_cpu_s", "simulator_cpu_s", "driver_cpu_s"):  # per request, over all rounds
        median[key.replace("_s", "_ms_per_request")] = sum(s[key] for s in samples) / requests_ * 1e3
    median["requests"], median["driver"] = requests_, samples[0]["driver"]
    median["req_per_s_by_round"] = [s["req_per_s"] for s in samples]
    median["busiest_worker_share_by_round"] = [s["busiest_worker_share"] for s in samples]
    return median
