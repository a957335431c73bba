"""Section 3: end to end, as a client sees it: the upstream direct, the bare pass-through, the gateway.

Three servers run side by side, each its own process tree, on loopback:

- ``upstream``: ``bench.upstream``, precomputed answer bytes (the floor of the floor);
- ``bare``: ``bench.bare:app``, a Flask route forwarding with a ``requests.Session``
  and returning the upstream's bytes unchanged: the floor of the stack;
- ``gateway``: ``callnos_gateway.wsgi:app``, as in production (logs and metrics on).

Both Flask apps run as ``gunicorn -c python:callnos_gateway.server.gunicorn_config``, with the same settings
(so the same workers, threads and worker class, whatever that file says);
the one change is no worker recycling during the run (``GUNICORN_MAX_REQUESTS=0``).
``against`` (``python -m bench e2e --against OLD.conf.py``) runs a second
bare and gateway under another config file in the same run, taking turns
with the first: an A/B of two configs (e.g. two worker classes) under the
same load, with own work, records/s and CPU per request each against its
own bare pass-through, at every batch size.
One client (``bench.client``) drives all three: one keep-alive connection for
latency, 16 keep-alive connections from 16 processes for throughput. The
targets take turns round by round, so the machine's drift touches all alike,
and every figure is a ratio of two measured in the same run.
"""

from __future__ import annotations

import json
import statistics
import shlex
import tempfile
import time
import timeit
from contextlib import ExitStack
from pathlib import Path

from bench import client
from bench.client import Call
from bench.features import VARIANTS, Variant
from bench.procs import cpu_seconds, peak_rss_mb, scheduled_seconds, serving, started_with
from bench.records import MIXES, TASK_OF_MIX, answer_body
from bench.timing import interleaved_medians
from callnos_gateway.api.schemas.answers import render_batch
from callnos_gateway.upstream.obs.callnos import read as normalise_answer
from tests.servers import free_port, gunicorn_env, worker_pids

TOKEN, API_KEY = "bench-static-token", "bench-key"
CALLNOS_PATH = "/rest/isales/v1/openapi/obs/business/callnos"
TARGETS = ("upstream", "bare", "gateway")
AGAINST = ("bare_against", "gateway_against")  # the same two apps under the --against config
SHIPPED_CONFIG = "python:callnos_gateway.server.gunicorn_config"
SIZES = (1, 100, 1000)
LATENCY_REQUESTS = {1: 300, 100: 300, 1000: 90}  # per target, split over the rounds
THROUGHPUT_BATCH, CLIENTS, THROUGHPUT_SECONDS = 100, 16, 2.0


def settings_env(upstream_url: str) -> dict[str, str]:
    """Both apps' settings: a static token (no login in the way), one inbound key, batches up to 1,000."""
    return {"CALLNOS_UPSTREAM_URL": upstream_url, "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": TOKEN,
            "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
            "CALLNOS_MAX_BATCH": "1000", "GUNICORN_MAX_REQUESTS": "0"}


def _gunicorn(tmp: Path, app: str, upstream_url: str, config: Path = SHIPPED_CONFIG, tag: str = "",
              extra_env: dict[str, str] | None = None):
    """``gunicorn -c CONFIG APP``: workers, threads and worker class as that file decides."""
    port = free_port()
    env = gunicorn_env({**settings_env(upstream_url), **(extra_env or {})}, port)
    del env["GUNICORN_WORKERS"], env["GUNICORN_THREADS"]  # the config file's own defaults
    command = f"exec gunicorn -c {shlex.quote(str(config))} {app}"
    return serving(["bash", "-c", command], port, tmp / f"{app}{tag}.log", env)


def calls(urls: dict[str, str], mix: str, size: int) -> dict[str, Call]:
    """The same batch asked of each target, in each one's own request format."""
    task = TASK_OF_MIX[mix]
    upstream_body = json.dumps({"subCCNo": 1, "vdnId": 1, "serviceId": task, "batchCount": size}).encode()
    bearer = (("Authorization", f"Bearer {TOKEN}"),)
    gateway_body = json.dumps({"task_id": task, "batch_size": size}).encode()
    kinds = {"upstream": (CALLNOS_PATH, upstream_body, bearer), "bare": ("/bare", upstream_body, bearer),
             "gateway": ("/v1/call-data", gateway_body, (("X-API-Key", API_KEY),))}
    found = {}
    for name, url in urls.items():
        path, body, headers = kinds[name.split("_")[0]]
        found[name] = Call(url + path, body, headers)
    return found


def run(rounds: int = 3, against: Path | None = None, extra: tuple[Variant, ...] = ()) -> dict:
    """Start the servers on free loopback ports, measure, stop them; the section's figures."""
    with tempfile.TemporaryDirectory(prefix="callnos-bench-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        port = free_port()
        up = stack.enter_context(serving(["python", "-m", "bench.upstream", "--port", str(port)], port,
                                         tmp / "upstream.log"))
        servers = {"bare": stack.enter_context(_gunicorn(tmp, "bench.bare:app", up.url)),
                   "gateway": stack.enter_context(_gunicorn(tmp, "callnos_gateway.wsgi:app", up.url))}
        if against is not None:
            servers["bare_against"] = stack.enter_context(_gunicorn(tmp, "bench.bare:app", up.url, against, "-b"))
            servers["gateway_against"] = stack.enter_context(_gunicorn(tmp, "callnos_gateway.wsgi:app", up.url, against, "-b"))
        variants = (*VARIANTS, *extra)
        for variant in variants:
            servers[variant.target] = stack.enter_context(
                _gunicorn(tmp, "callnos_gateway.wsgi:app", up.url, tag="-" + variant.target, extra_env=variant.env))
        urls = {"upstream": up.url, **{name: server.url for name, server in servers.items()}}
        _check(urls)
        pids = {"upstream": [up.process.pid], **{name: _tree(server) for name, server in servers.items()}}
        result = _measure(urls, pids, rounds, against is not None)
        result["worker_peak_rss_mb"] = {name: [peak_rss_mb(pid) for pid in worker_pids(server.process.pid)]
                                        for name, server in servers.items()}
        result["gunicorn"] = started_with(servers["gateway"].log())
        if against is not None:
            result["against"] = {"config": str(against), "gunicorn": started_with(servers["gateway_against"].log())}
    return {"rounds": rounds, **result, "in_process_1000": in_process(1000, rounds + 4),
            "throughput_batch": THROUGHPUT_BATCH, "clients": CLIENTS,
            "variants": {variant.target: {"name": variant.name, "env": variant.env} for variant in variants}}


def _measure(urls: dict[str, str], pids: dict[str, list[int]], rounds: int, by_size: bool) -> dict:
    """Latency per mix and size, throughput per mix at THROUGHPUT_BATCH records (and, for an A/B,
    throughput of realistic records at every size)."""
    latency: dict = {mix: {} for mix in MIXES}
    for size in SIZES:  # sizes outside: both mixes meet the workers in the same state (see PERFORMANCE.md)
        for mix in MIXES:
            latency[mix][size] = _latency(calls(urls, mix, size), pids, size, answer_body(mix, size), rounds)
    throughput = {mix: _throughput(calls(urls, mix, THROUGHPUT_BATCH), pids, THROUGHPUT_BATCH, rounds)
                  for mix in MIXES}
    found = {"latency": latency, "throughput": throughput}
    if by_size:  # THROUGHPUT_BATCH's figures are measured above
        found["throughput_by_size"] = {size: throughput["realistic"] if size == THROUGHPUT_BATCH else
                                       _throughput(calls(urls, "realistic", size), pids, size, rounds)
                                       for size in SIZES}
    return found


def in_process(size: int, rounds: int) -> dict:
    """ms per answer of ``size`` records, per mix: the stdlib JSON round trip of the upstream's bytes, and
    the gateway's own ``normalise_answer`` + ``render_batch`` of them."""
    found = {}
    for mix in MIXES:
        body = answer_body(mix, size)
        medians = interleaved_medians({
            "json_round_trip": lambda: json.dumps(json.loads(body)).encode(),
            "gateway": lambda: render_batch("b" * 32, TASK_OF_MIX[mix], normalise_answer(body)),
        }, rounds)
        found[mix] = {name: seconds * 1e3 for name, seconds in medians.items()}
    return found


def _check(urls: dict[str, str]) -> None:
    """Every target answers each batch with 200 (a wrong setup fails here, not in the figures)."""
    for mix in MIXES:
        for size in SIZES:
            for name, call in calls(urls, mix, size).items():
                status, length = client.Connection(call).send()
                if status != 200 or not length:
                    raise RuntimeError(f"{name} answered {status} to a {mix} batch of {size}")


def _tree(server, settle_seconds: float = 30.0) -> list[int]:
    """The master and all its workers, waiting until every worker the log announced has started (a worker
    booting later would escape the CPU counts)."""
    stop = time.monotonic() + settle_seconds
    while time.monotonic() < stop:
        expected = started_with(server.log()).get("workers") or _booted(server.log())
        workers = worker_pids(server.process.pid)
        if expected and len(workers) >= expected and _booted(server.log()) >= expected:
            return [server.process.pid, *workers]
        time.sleep(0.1)
    raise RuntimeError(f"not every worker of {server.url} started within {settle_seconds:.0f} s")


def _booted(log: str) -> int:
    return log.count("Booting worker with pid")


def _latency(targets: dict[str, Call], pids: dict[str, list[int]], size: int, upstream_body: bytes,
             rounds: int) -> dict:
    """p50 and p99 (ms) and server CPU per request (the median of the rounds' figures, so that a round a
    neighbour's load hit does not decide) of each target on one connection, the targets taking turns each
    round; and between them, in this process, the stdlib JSON round trip of the upstream's bytes, by the
    wall clock and by CPU time, so that it meets the same load as the servers."""
    per_round = max(10, LATENCY_REQUESTS[size] // rounds)
    found: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}  # ms per request, each round
    json_ms, json_cpu_ms = [], []
    for _ in range(rounds):
        for name in targets:
            before = cpu_seconds(pids[name])
            found[name] += client.latencies_ms(targets[name], per_round, warm_up=10)
            cpu[name].append((cpu_seconds(pids[name]) - before) * 1e3 / (per_round + 10))
            json_ms.append(_json_round_trip_ms(upstream_body))
            json_cpu_ms.append(_json_round_trip_cpu_ms(upstream_body))
    figures = {name: {"p50_ms": statistics.median(values), "p99_ms": _percentile(values, 0.99),
                      "cpu_ms_per_request": statistics.median(cpu[name]), "cpu_ms_by_round": cpu[name],
                      "requests": len(values)} for name, values in found.items()}
    return {**figures, "json_round_trip_ms": statistics.median(json_ms),
            "json_round_trip_cpu_ms": statistics.median(json_cpu_ms)}


def _json_round_trip_ms(body: bytes) -> float:
    """ms of ``json.dumps(json.loads(body)).encode()``: the best of a few, timed on the wall clock."""
    number = 50 if len(body) < 100_000 else 5
    return min(timeit.repeat(lambda: json.dumps(json.loads(body)).encode(), number=number, repeat=3)) / number * 1e3


def _json_round_trip_cpu_ms(body: bytes) -> float:
    """CPU ms of the same round trip in this process (``time.process_time``), comparable with the workers'
    utime + stime: ~50 ms of calls, so that the workers' clock tick (10 ms) and this one measure alike."""
    number = max(5, 8_000_000 // len(body))
    started = time.process_time()
    for _ in range(number):
        json.dumps(json.loads(body)).encode()
    return (time.process_time() - started) / number * 1e3


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _throughput(targets: dict[str, Call], pids: dict[str, list[int]], size: int, rounds: int) -> dict:
    """Records/s of each target at CLIENTS connections: the median over rounds, and each round's; the
    server's CPU per request, and the cores' worth of time its processes were runnable but had no CPU
    (on a shared machine: how much of a difference is the machine's), medians over rounds."""
    found: dict[str, list[tuple[float, float, float]]] = {name: [] for name in targets}
    failed = dict.fromkeys(targets, 0)
    for _ in range(rounds):
        for name in targets:
            cpu, (_, waited) = cpu_seconds(pids[name]), scheduled_seconds(pids[name])
            ok, bad, seconds = client.throughput(targets[name], CLIENTS, THROUGHPUT_SECONDS)
            cpu_ms = (cpu_seconds(pids[name]) - cpu) * 1e3 / max(1, ok + bad + CLIENTS)  # + each client's warm-up
            found[name].append((ok * size / seconds, cpu_ms, (scheduled_seconds(pids[name])[1] - waited) / seconds))
            failed[name] += bad
    return {name: {"records_per_s": statistics.median(v[0] for v in values),
                   "by_round": [v[0] for v in values],
                   "cpu_ms_per_request": statistics.median(v[1] for v in values),
                   "waiting_for_cpu_cores": statistics.median(v[2] for v in values), "failed": failed[name]}
            for name, values in found.items()}
