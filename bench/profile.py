"""Where the time goes: ``python -m bench.profile normalise|worker``.

``normalise`` runs cProfile over the gateway's normalisation of a realistic
1,000-record answer (``bench.records``) and prints the functions by own time. ``worker`` needs
py-spy on PATH (``pip install py-spy``; not a project dependency): it starts
the benchmark's upstream and the gateway as ``make bench`` does, drives one
client at it (100 realistic records a request), samples one gunicorn worker with ``py-spy record --gil`` (only
the thread holding the GIL: CPU, not waiting), and sums the samples by what
the innermost recognised frame belongs to.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.procs import cpu_seconds, serving
from tests.servers import free_port, worker_pids

# (part, path fragments of its frames), innermost recognised frame wins; for one frame the first part that
# matches wins, so the specific parts of callnos_gateway/api/ come before the general one.
PARTS = (
    ("ieData parser", ("callnos_gateway/records/iedata.py", "callnos_gateway/records/iedata_fast.py")),
    ("records: envelope (orjson.loads), plan, normalise", (
        "callnos_gateway/records/", "callnos_gateway/upstream/obs/envelope.py", "callnos_gateway/upstream/obs/callnos.py")),
    ("answer: render_batch (orjson.dumps)", ("callnos_gateway/api/schemas/answers.py",)),
    ("the view's own lines (freeing the batch on return)", ("callnos_gateway/api/calldata.py",)),
    ("upstream: requests' layer", ("requests/",)),
    ("upstream: urllib3, http.client, the transport", (
        "urllib3/", "http/client.py", "email/", "socket.py", "callnos_gateway/upstream/")),
    ("logging and metrics", ("logging/", "pythonjsonlogger/", "prometheus_client/", "callnos_gateway/telemetry/",
                             "callnos_gateway/api/access_log.py", "callnos_gateway/api/metrics.py", "json/")),
    ("inbound: key, request schema, idempotency, request record", (
        "callnos_gateway/api/", "marshmallow/", "callnos_gateway/settings/", "uuid.py")),
    ("Flask, werkzeug, flask-smorest", ("flask/", "werkzeug/", "flask_smorest/", "callnos_gateway/app.py")),
    ("gunicorn, gevent, src/callnos_gateway/server/ (the worker)", (
        "gunicorn/", "concurrent/futures/", "selectors.py", "gevent/", "callnos_gateway/server/")),
)


def profile_normalisation(top: int) -> None:
    """Each step of normalising a 1,000-record answer timed alone, then cProfile of the whole."""
    import orjson

    from callnos_gateway.records.iedata import parse_ie_data
    from bench.normalise import BATCH_ID
    from bench.records import answer_body
    from bench.timing import interleaved_medians
    from callnos_gateway.records import normalise
    from callnos_gateway.upstream.obs import callnos as upstream
    from callnos_gateway.api.schemas.answers import render_batch

    body = answer_body("realistic", 1000)
    raws = orjson.loads(body)["resultData"]["taskData"]
    ie_strings = [raw["ieData"] for raw in raws if isinstance(raw.get("ieData"), str)]
    without_ie = [{key: value for key, value in raw.items() if key != "ieData"} for raw in raws]
    batch = upstream.read(body)
    steps = {
        "whole: normalise_answer + render_batch": lambda: render_batch(BATCH_ID, 1001, upstream.read(body)),
        "orjson.loads of the body": lambda: orjson.loads(body),
        "parse_ie_data of every ieData string": lambda: [parse_ie_data(text) for text in ie_strings],
        "records without their ieData": lambda: [normalise.normalise_record(raw) for raw in without_ie],
        "render_batch (orjson.dumps)": lambda: render_batch(BATCH_ID, 1001, batch),
        "bare orjson.loads + orjson.dumps": lambda: orjson.dumps(orjson.loads(body)),
    }
    for step, seconds in interleaved_medians(steps, rounds=7).items():
        print(f"{seconds / len(raws) * 1e9:8,.0f} ns/record  {step}")
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [render_batch(BATCH_ID, 1001, upstream.read(body)) for _ in range(20)])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def part_of(stack: list[str]) -> str:
    """The part the innermost recognised frame of a py-spy stack belongs to."""
    for frame in reversed(stack):
        for part, fragments in PARTS:
            if any(fragment in frame for fragment in fragments):
                return part
    return "other"


def summarise(raw: str) -> Counter:
    """Samples per part, from py-spy's ``--format raw`` output (``frame;frame;... count``)."""
    parts: Counter = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():  # a frame's text may hold a line break (gevent's): not a stack line
            parts[part_of(stack.split(";"))] += int(count)
    return parts


APPS = {"gateway": "callnos_gateway.wsgi:app", "bare": "bench.bare:app"}


def profile_worker(seconds: int, mix: str = "realistic", size: int = 100, config: Path | None = None,
                   app: str = "gateway") -> None:
    """py-spy the busy gunicorn worker while one client fetches batches through the gateway (or the bare
    pass-through, the floor its CPU is judged against)."""
    from bench import client, e2e

    if not shutil.which("py-spy"):
        raise SystemExit("bench.profile worker needs py-spy on PATH (pip install py-spy)")
    with tempfile.TemporaryDirectory(prefix="callnos-profile-") as tmp_name:
        tmp, port = Path(tmp_name), free_port()
        with serving(["python", "-m", "bench.upstream", "--port", str(port)], port, tmp / "upstream.log") as up, \
                e2e._gunicorn(tmp, APPS[app], up.url, config or e2e.SHIPPED_CONFIG) as gateway:
            call = e2e.calls({"upstream": up.url, app: gateway.url}, mix, size)[app]
            pids = worker_pids(gateway.process.pid)
            answered: list = []
            load = threading.Thread(target=lambda: answered.append(client.throughput(call, 1, seconds + 4)))
            before = cpu_seconds(pids)
            load.start()  # one client, its own process
            raw = tmp / "worker.txt"
            subprocess.run(["py-spy", "record", "--gil", "--nonblocking", "--format", "raw", "-r", "250",
                            "-d", str(seconds), "-p", str(_busiest(pids)), "-o", str(raw)],
                           check=True, capture_output=True)
            load.join()
            cpu_ms = (cpu_seconds(pids) - before) * 1e3 / max(1, answered[0][0] + 1)
            samples = raw.read_text()
            if os.environ.get("CALLNOS_PROFILE_KEEP"):  # the raw stacks, for a closer look
                shutil.copy(raw, os.environ["CALLNOS_PROFILE_KEEP"])
    print(f"{app}, {size} {mix} records: {cpu_ms:.3f} ms of the workers' CPU per request (utime + stime, "
          f"py-spy's own cost included)")
    _print_parts(summarise(samples), innermost(samples), cpu_ms=cpu_ms)


def _busiest(pids: list[int]) -> int:
    """The worker the client's one connection landed on: the one that used the most CPU over a second.

    (An idle gevent worker still shows samples: its deadline watchdog and hub wake up.)
    """
    before = {pid: cpu_seconds([pid]) for pid in pids}
    time.sleep(1.5)
    return max(pids, key=lambda pid: cpu_seconds([pid]) - before[pid])


def innermost(raw: str) -> Counter:
    """Samples per innermost frame (the function on CPU), from py-spy's raw output."""
    frames: Counter = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames[stack.split(";")[-1]] += int(count)
    return frames


def _print_parts(parts: Counter, frames: Counter | None = None, top: int = 15, cpu_ms: float | None = None) -> None:
    """Each part's share of the samples and, given the CPU per request, its ms per request."""
    total = sum(parts.values()) or 1
    print(f"{total} samples of the worker thread holding the GIL")
    for part, count in parts.most_common():
        ms = f"  {count / total * cpu_ms:6.3f} ms/request" if cpu_ms else ""
        print(f"{count / total:6.1%}{ms}  {part}")
    if frames:
        print(f"\ninnermost frames, top {top}:")
        for frame, count in frames.most_common(top):
            print(f"{count / total:6.1%}  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("normalise", "worker"))
    parser.add_argument("--top", type=int, default=20, help="normalise: functions to list")
    parser.add_argument("--seconds", type=int, default=8, help="worker: seconds to sample")
    parser.add_argument("--records", type=int, default=100, help="worker: records per batch")
    parser.add_argument("--config", type=Path, help="worker: a gunicorn config file (default python:callnos_gateway.server.gunicorn_config)")
    parser.add_argument("--mix", choices=("realistic", "mix"), default="realistic", help="worker: records")
    parser.add_argument("--app", choices=tuple(APPS), default="gateway", help="worker: which app to sample")
    args = parser.parse_args()
    if args.what == "normalise":
        profile_normalisation(args.top)
    else:
        profile_worker(args.seconds, args.mix, args.records, args.config and args.config.resolve(), args.app)


if __name__ == "__main__":
    sys.exit(main())
