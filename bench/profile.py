"""Where the time goes: ``python -m bench.profile normalise|worker``.

``normalise`` runs cProfile over the gateway's normalisation of a realistic
1,000-record answer and prints the functions by own time. ``worker`` needs
py-spy on PATH (``pip install py-spy``; not a project dependency): it starts
the simulator (precomputed) and the gateway as ``make bench`` does, drives one
client at it, samples one gunicorn worker with ``py-spy record --gil`` (only
the thread holding the GIL: CPU, not waiting), and sums the samples by what
the innermost recognised frame belongs to.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

# (part, path fragments of its frames), innermost recognised frame wins
PARTS = (
    ("ieData parser", ("adapter/iedata.py",)),
    ("normalisation (records, orjson)", ("schemas/upstream.py", "schemas/record_plan.py", "schemas/fields.py",
                                         "schemas/response.py")),
    ("upstream HTTP client (requests)", ("requests/", "urllib3/", "http/client.py", "adapter/", "socket.py")),
    ("logging and metrics", ("logging/", "pythonjsonlogger/", "prometheus_client/", "web/logs.py",
                             "web/access_log.py", "web/metrics.py", "web/redact.py")),
    ("Flask, flask-smorest, views", ("flask/", "werkzeug/", "flask_smorest/", "web/", "app.py", "marshmallow/")),
    ("gunicorn (gthread)", ("gunicorn/", "concurrent/futures/", "selectors.py")),
)


def profile_normalisation(top: int) -> None:
    """Each step of normalising a 1,000-record answer timed alone, then cProfile of the whole."""
    import orjson

    from adapter.iedata import parse_ie_data
    from bench.normalise import BATCH_ID, answer_bodies
    from bench.timing import interleaved_medians
    from schemas import upstream
    from schemas.response import render_batch

    (body,) = answer_bodies(1000)
    raws = orjson.loads(body)["resultData"]["taskData"]
    ie_strings = [raw["ieData"] for raw in raws if isinstance(raw.get("ieData"), str)]
    without_ie = [{key: value for key, value in raw.items() if key != "ieData"} for raw in raws]
    batch = upstream.normalise_answer(body)
    steps = {
        "whole: normalise_answer + render_batch": lambda: render_batch(BATCH_ID, 1001, upstream.normalise_answer(body)),
        "orjson.loads of the body": lambda: orjson.loads(body),
        "parse_ie_data of every ieData string": lambda: [parse_ie_data(text) for text in ie_strings],
        "records without their ieData": lambda: [upstream.normalise_record(raw) for raw in without_ie],
        "render_batch (orjson.dumps)": lambda: render_batch(BATCH_ID, 1001, batch),
        "bare orjson.loads + orjson.dumps": lambda: orjson.dumps(orjson.loads(body)),
    }
    for step, seconds in interleaved_medians(steps, rounds=7).items():
        print(f"{seconds / len(raws) * 1e9:8,.0f} ns/record  {step}")
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [render_batch(BATCH_ID, 1001, upstream.normalise_answer(body)) for _ in range(20)])
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
        if stack:
            parts[part_of(stack.split(";"))] += int(count)
    return parts


def profile_worker(seconds: int) -> None:
    """py-spy one gunicorn worker while one client fetches 100-record batches."""
    from bench import drivers, e2e
    from tests.servers import gunicorn_process, simulator_process, worker_pids

    if not shutil.which("py-spy"):
        raise SystemExit("bench.profile worker needs py-spy on PATH (pip install py-spy)")
    with tempfile.TemporaryDirectory(prefix="callnos-profile-") as tmp, \
            simulator_process(Path(tmp), "--precomputed", "--static-token", e2e.TOKEN) as sim, \
            gunicorn_process(Path(tmp), e2e.gateway_env(sim.url)) as gateway:
        _, target = e2e._targets(sim, gateway)
        driver = drivers.pick("auto")
        drivers.load(driver, target.url, target.body, target.header, 2, 10_000, 1)  # both workers warm
        load = threading.Thread(target=drivers.load, args=(driver, target.url, target.body, target.header, 1,
                                                            100_000, seconds + 2))
        load.start()
        raw = Path(tmp) / "worker.txt"
        pids = worker_pids(gateway.process.pid)
        for pid in pids:  # the one client's connection lands on one worker: profile the busy one
            subprocess.run(["py-spy", "record", "--gil", "--nonblocking", "--format", "raw", "-r", "250",
                            "-d", str(seconds), "-p", str(pid), "-o", str(raw)], check=True, capture_output=True)
            if raw.stat().st_size > 1000:
                break
        load.join()
        _print_parts(summarise(raw.read_text()))


def _print_parts(parts: Counter) -> None:
    total = sum(parts.values()) or 1
    print(f"{total} samples of the worker thread holding the GIL")
    for part, count in parts.most_common():
        print(f"{count / total:6.1%}  {part}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("normalise", "worker"))
    parser.add_argument("--top", type=int, default=20, help="normalise: functions to list")
    parser.add_argument("--seconds", type=int, default=8, help="worker: seconds to sample")
    args = parser.parse_args()
    if args.what == "normalise":
        profile_normalisation(args.top)
    else:
        profile_worker(args.seconds)


if __name__ == "__main__":
    sys.exit(main())
