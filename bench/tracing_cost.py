"""What tracing costs: gunicorn workers' CPU per request from /proc, three gateways in one run.

``untraced``: the app with no tracing hook (``bench.untraced``); ``off``: the
shipped app, no ``OTEL_*`` variable; ``on``: the shipped app exporting every
span over OTLP/HTTP to a receiver on loopback (``tests/otlp_receiver.py``,
which decodes them, as a collector would). Each gets the same requests (a
100-record batch, an inbound ``traceparent``) in turns, round after round,
and each round's CPU is read from the workers' ``/proc/<pid>/task/*/schedstat``
(nanoseconds on CPU; ``stat``'s 10 ms ticks are too coarse for 200 requests); the
figures are medians over the rounds, so the machine's other load falls on
all three alike.
"""

from __future__ import annotations

import shlex
import statistics
from collections import Counter
import tempfile
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.e2e import API_KEY, settings_env
from bench.procs import scheduled_seconds, serving
from bench.records import TASK_OF_MIX
from tests.otlp_receiver import OtlpReceiver
from tests.servers import free_port, gunicorn_env, worker_pids

APPS = {"untraced": "bench.untraced:app", "off": "callnos_gateway.wsgi:app", "on": "callnos_gateway.wsgi:app"}
TRACED = ("on",)  # the gateways that export spans
BATCH = 100
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _gateway(tmp: Path, name: str, upstream_url: str, receiver: OtlpReceiver):
    port = free_port()
    env = gunicorn_env(settings_env(upstream_url), port, workers=2)
    env = {key: value for key, value in env.items() if not key.startswith("OTEL_")}
    if name in TRACED:
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="200")
    command = f"exec gunicorn -c python:callnos_gateway.server.gunicorn_config {shlex.quote(APPS[name])}"
    return serving(["bash", "-c", command], port, tmp / f"{name}.log", env)


def _round(session: requests.Session, url: str, pids: list[int], count: int) -> float:
    """CPU microseconds per request of ``count`` sequential requests."""
    before = scheduled_seconds(pids)[0]
    for _ in range(count):
        answer = session.post(url + "/v1/call-data", json={"task_id": TASK_OF_MIX["realistic"], "batch_size": BATCH},
                              headers={"X-API-Key": API_KEY, "traceparent": TRACEPARENT}, timeout=30)
        assert answer.status_code == 200, answer.text
    return (scheduled_seconds(pids)[0] - before) / count * 1e6


def run(rounds: int = 7, per_round: int = 200) -> dict:
    """Start the upstream, a receiver and the three gateways; measure in turns; stop them."""
    with tempfile.TemporaryDirectory(prefix="callnos-trace-bench-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        port = free_port()
        up = stack.enter_context(serving(["python", "-m", "bench.upstream", "--port", str(port)], port,
                                         tmp / "upstream.log"))
        receiver = stack.enter_context(OtlpReceiver())
        servers = {name: stack.enter_context(_gateway(tmp, name, up.url, receiver)) for name in APPS}
        session = stack.enter_context(requests.Session())
        pids = {name: worker_pids(server.process.pid) for name, server in servers.items()}
        for name, server in servers.items():
            _round(session, server.url, pids[name], 20)  # warm up: imports, pools, first spans
        samples: dict[str, list[float]] = {name: [] for name in APPS}
        for _ in range(rounds):
            for name, server in servers.items():
                samples[name].append(_round(session, server.url, pids[name], per_round))
        expected = (rounds * per_round + 20) * len(TRACED)  # a server and a callnos span per request

        def complete(spans) -> bool:
            return sum(span.name == "upstream callnos" for span in spans) >= expected
        exported = Counter(span.name for span in receiver.wait_for(complete))
    medians = {name: round(statistics.median(values), 1) for name, values in samples.items()}
    return {"rounds": rounds, "requests_per_round": per_round, "batch": BATCH,
            "cpu_us_per_request": medians, "samples_us": {k: [round(v) for v in vs] for k, vs in samples.items()},
            "spans_exported": dict(exported),
            "off_minus_untraced_us": round(medians["off"] - medians["untraced"], 1),
            "on_minus_off_us": round(medians["on"] - medians["off"], 1)}


def render(result: dict) -> str:
    """The section as a few lines of text."""
    cpu = result["cpu_us_per_request"]
    return "\n".join([
        f"gunicorn workers' CPU per request ({result['batch']}-record batch; medians of {result['rounds']} rounds "
        f"of {result['requests_per_round']}):",
        *(f"  {name:9} {value:8.1f} us" for name, value in cpu.items()),
        f"  off - untraced: {result['off_minus_untraced_us']:+.1f} us; on - off: {result['on_minus_off_us']:+.1f} us"
        f" ({sum(result['spans_exported'].values())} spans exported)",
    ])
