"""The processes under test: starting and stopping them, their CPU and peak memory, from /proc.

Why from /proc: the gateway's workers and the simulator are separate
processes; their own counters are the only honest account of where the
machine's cores went during a run, and of each worker's peak RSS (VmHWM).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.servers import BIN, ROOT, Running, stop_process, wait_until_serving

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by these processes (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return total / _TICKS


def scheduled_seconds(pids: Iterable[int]) -> tuple[float, float]:
    """Seconds these processes' threads ran, and were runnable but waited for a CPU (schedstat).

    On a shared machine the second tells a slower run that the machine caused
    (a one-thread gevent worker gets one thread's share of the CPU, a
    gthread worker one share per busy thread) from one that the code caused.
    """
    ran = waited = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as stat:
                    run_ns, wait_ns, _ = stat.read().split()
                    ran, waited = ran + int(run_ns), waited + int(wait_ns)
    return ran / 1e9, waited / 1e9


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), in MB; None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@contextlib.contextmanager
def serving(argv: list[str], port: int, log_path: Path, env: dict[str, str] | None = None) -> Iterator[Running]:
    """Run ``argv`` (from the repository root, the venv's bin first on PATH) until it answers on ``port``.

    The process is stopped at the end, even when the run fails.
    """
    env = dict(env or os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url + "/healthz", process=process)
        yield Running(process, url, log_path)
    finally:
        stop_process(process)


def started_with(log: str) -> dict:
    """The gunicorn settings a server's log says it started with: worker class, workers, threads."""
    found: dict = {}
    for line in log.splitlines():
        if "Using worker:" in line:
            found["worker_class"] = line.split("Using worker:", 1)[1].split('"')[0].strip()
        if "callnos-gateway starting" in line:
            with contextlib.suppress(ValueError, KeyError):
                effective = json.loads(line)["gunicorn"]
                found.update(workers=effective["workers"], threads=effective["threads"])
    return found
