"""slowhttptest against the shipped configuration, with a normal client timing its requests.

Debian's ``slowhttptest`` (an outside tool, not our own hostile clients) runs
one mode at a time against a gunicorn started with the shipped config; while
it holds its connections, the normal client of ``slow_clients`` fetches 5
records on fresh connections and its p50/p99 and failures make one row.

    .venv/bin/python tests/slowhttp.py [--seconds 60] [--modes H,B,X,R] [--scale 1.0]

(``make attack``) runs each mode at its full size for 60 s at 300 new
connections a second and prints a table; ``--scale`` shrinks the connection
counts (the test suite runs a few seconds of each at a small scale). Loopback
only; one mode at a time. A ``PYTHONPATH`` naming another checkout's ``src``
measures that checkout instead (the "before" column of a change).
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from servers import gunicorn_process, simulator_process
from slow_clients import Probe, normal_client

SLOWHTTPTEST = shutil.which("slowhttptest") or "/usr/bin/slowhttptest"
API_KEY = "slowhttp-key"
RATE = 300  # new connections a second


@dataclass(frozen=True)
class Mode:
    """One slowhttptest mode: its flags, its full-size connection count, and the path it hits."""

    flag: str
    connections: int
    path: str
    extra: tuple[str, ...] = ()

    def argv(self, url: str, seconds: float, scale: float) -> list[str]:
        count = max(10, int(self.connections * scale))
        return [SLOWHTTPTEST, f"-{self.flag}", "-c", str(count), "-r", str(RATE), "-l", str(int(seconds)),
                "-u", url + self.path, "-p", "5", *self.extra]


# The sizes of the slowhttptest runs the gateway must absorb (docs/RELIABILITY.md).
MODES = {
    "H": Mode("H", 4000, "/v1/call-data"),
    "B": Mode("B", 4000, "/v1/call-data", ("-s", "8192", "-i", "8")),
    "X": Mode("X", 1000, "/openapi.json"),
    "R": Mode("R", 1000, "/openapi.json"),
}


def gateway_env(sim_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    return {"CALLNOS_UPSTREAM_URL": sim_url, "CALLNOS_USERNAME": "demo", "CALLNOS_PASSWORD": "demo-password",
            "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
            "CALLNOS_IDEMPOTENCY_URL": f"sqlite:///{tmp / 'idempotency.sqlite3'}", **extra}


@contextlib.contextmanager
def shipped_gateway(**extra: str) -> Iterator:
    """A simulator and gunicorn with the shipped config (workers as shipped too)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with simulator_process(tmp) as sim, \
                gunicorn_process(tmp, {"GUNICORN_WORKERS": "2", **gateway_env(sim.url, tmp, **extra)}) as gateway:
            yield gateway


@dataclass
class AttackResult:
    """The normal client's requests, and the most connections slowhttptest held open at once."""

    probe: Probe
    connected: int


def attack(gateway_url: str, mode: Mode, seconds: float, scale: float, out: Path) -> AttackResult:
    """Run slowhttptest for ``seconds`` (to its end: it writes its counts then); the normal client runs meanwhile."""
    ramp = min(seconds / 3, max(10, int(mode.connections * scale)) / RATE + 1)
    stats = out.with_suffix("")
    with open(out, "wb") as log:
        tool = subprocess.Popen([*mode.argv(gateway_url, seconds, scale), "-g", "-o", str(stats)],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(ramp)
        probe = normal_client(gateway_url, API_KEY, 100_000, seconds - ramp - 1)
        tool.wait(seconds + 30)
    finally:
        if tool.poll() is None:
            tool.kill()
            tool.wait()
    return AttackResult(probe, most_connected(stats.with_suffix(".csv")))


def most_connected(csv_path: Path) -> int:
    """The peak of the "Connected" column of slowhttptest's CSV report (0 without one)."""
    if not csv_path.exists():
        return 0
    with open(csv_path, newline="") as lines:
        return max((int(row["Connected"]) for row in csv.DictReader(lines)), default=0)


def row(mode: Mode, scale: float, result: AttackResult, command: str) -> str:
    probe = result.probe
    failures = sum(count for status, count in probe.statuses.items() if status != 200)
    return (f"| -{mode.flag} | {max(10, int(mode.connections * scale))} | {result.connected} "
            f"| {len(probe.latencies_ms)} | {probe.percentile(0.5):.1f} | {probe.percentile(0.99):.1f} "
            f"| {failures} | `{command}` |")


def main(seconds: float, modes: list[str], scale: float) -> None:
    print("| mode | connections | most held at once | normal requests | p50 ms | p99 ms | failed | command |")
    print("|---|---|---|---|---|---|---|---|")
    with shipped_gateway() as gateway, tempfile.TemporaryDirectory() as logs:
        for flag in modes:
            mode = MODES[flag]
            result = attack(gateway.url, mode, seconds, scale, Path(logs) / f"slowhttptest-{flag}.log")
            command = " ".join(["slowhttptest", *mode.argv("http://127.0.0.1:PORT", seconds, scale)[1:]])
            print(row(mode, scale, result, command), flush=True)
            time.sleep(3)
        timeouts = gateway.log().count("WORKER TIMEOUT")
    print(f"\nworker timeouts: {timeouts}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each mode runs")
    parser.add_argument("--modes", default="H,B,X,R", help="comma-separated slowhttptest modes")
    parser.add_argument("--scale", type=float, default=1.0, help="share of each mode's connection count")
    arguments = parser.parse_args()
    main(arguments.seconds, arguments.modes.split(","), arguments.scale)
