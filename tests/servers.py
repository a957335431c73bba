"""Real processes for tests: the gateway under gunicorn, and the simulator CLI.

Both bind free loopback ports and are always stopped, even when a test fails.
Use them where a test must see what ops see: several workers, the start
command, the logs on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before serving {url}")
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=0.5)
            return
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class Running:
    """A started process, its base URL and where its stderr goes."""

    process: subprocess.Popen
    url: str
    log_path: Path
    extra: dict = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s: how every test and bench server is stopped."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _serving(argv: list[str], port: int, log_path: Path, probe: str, env: dict | None = None) -> Iterator[Running]:
    """Start ``argv`` with its output in ``log_path``, wait until ``probe`` answers, stop it at the end."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url + probe, process=process)
        yield Running(process, url, log_path)
    finally:
        stop_process(process)


@contextlib.contextmanager
def simulator_process(tmp_path: Path, *args: str) -> Iterator[Running]:
    """``python -m callnos_gateway.simulator`` on a free port."""
    port = free_port()
    argv = [sys.executable, "-m", "callnos_gateway.simulator", "--port", str(port), *args]
    with _serving(argv, port, tmp_path / f"simulator-{port}.log", "/_sim/stats") as running:
        yield running


GUNICORN_COMMAND = "gunicorn -c python:callnos_gateway.server.gunicorn_config callnos_gateway.wsgi:app"
OUTER_SETTINGS = ("CALLNOS_", "GUNICORN_", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


def gunicorn_env(env: dict[str, str], port: int, workers: int = 2, threads: int = 4) -> dict[str, str]:
    """This process's environment without its gateway settings, plus ``env`` and a bind."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(OUTER_SETTINGS)},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        **env,
    }


def run_gunicorn(env: dict[str, str], timeout: float = 20) -> subprocess.CompletedProcess:
    """Run gunicorn to its end (for starts that must fail); stdout and stderr together."""
    return subprocess.run(
        [str(BIN / "gunicorn"), "-c", "python:callnos_gateway.server.gunicorn_config", "callnos_gateway.wsgi:app"], cwd=ROOT,
        env=gunicorn_env(env, free_port()), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout,
    )


@contextlib.contextmanager
def gunicorn_process(
    tmp_path: Path, env: dict[str, str], workers: int = 2, threads: int = 4, command: str = GUNICORN_COMMAND,
) -> Iterator[Running]:
    """``command`` (run by bash, with the venv's bin first on PATH) on a free port with ``env`` added."""
    port = free_port()
    argv = ["bash", "-c", f"exec {command}"]
    env = {"CALLNOS_TOKEN_STORE": f"sqlite:///{tmp_path}/token-store.sqlite3",  # no token of another test
           "CALLNOS_QUOTA_URL": f"sqlite:///{tmp_path}/quotas.sqlite3",  # nor its quotas, slots or circuit
           "CALLNOS_LEDGER_URL": f"sqlite:///{tmp_path}/ledger.sqlite3", **env}  # nor its ledger
    full_env = gunicorn_env(env, port, workers, threads)
    with _serving(argv, port, tmp_path / f"gunicorn-{port}.log", "/healthz", full_env) as running:
        yield running


def worker_pids(master_pid: int) -> list[int]:
    """The pids of a gunicorn master's worker processes."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def json_lines(text: str) -> list[dict]:
    """Parse a log of JSON lines; fails (ValueError) on any line that is not one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def busiest_worker(pids: list[int]) -> int:
    """The worker holding the most sockets (client connections), so a kill test hits live work."""

    def sockets(pid: int) -> int:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            return sum(1 for fd in fd_dir.iterdir() if os.readlink(fd).startswith("socket:"))
        except OSError:
            return -1

    return max(pids, key=sockets)
