"""A real Prometheus on loopback for a bounded run: it scrapes the gateway and answers PromQL.

Debian's ``prometheus`` package (``/usr/bin/prometheus``) is started with a
temporary storage directory, a free loopback port and a short scrape
interval, and is always stopped at the end. The dashboard test and the
dashboard picture (``python -m bench.dashboard``) query it over its HTTP API,
as Grafana would.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.servers import free_port, stop_process

BINARY = shutil.which("prometheus") or "/usr/bin/prometheus"
JOB = "callnos-gateway"


@dataclass
class Prometheus:
    """A running Prometheus: its base URL and its log."""

    url: str
    log_path: Path

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """The result of an instant query (a list of series with their value)."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        return self._get("/api/v1/query", params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        """The result of a range query: each series with its (time, value) pairs."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self._get("/api/v1/query_range", params)["result"]

    def label_values(self, label: str, match: str) -> list[str]:
        """What Grafana's ``label_values(match, label)`` variable offers."""
        answer = requests.get(f"{self.url}/api/v1/label/{label}/values", params={"match[]": match}, timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]

    def rules(self) -> list[dict]:
        """The loaded rule groups, with each rule's health and state."""
        return self._get("/api/v1/rules", {})["groups"]

    def wait_for_scrapes(self, count: int, timeout: float = 30.0) -> None:
        """Wait until the gateway was scraped successfully ``count`` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.query(f'count_over_time(up{{job="{JOB}"}}[10m])')
            if found and float(found[0]["value"][1]) >= count and self.query(f'up{{job="{JOB}"}} == 1'):
                return
            time.sleep(0.2)
        raise TimeoutError(f"Prometheus did not scrape the gateway {count} times in {timeout} s")

    def _get(self, path: str, params: dict) -> dict:
        answer = requests.get(self.url + path, params=params, timeout=10)
        body = answer.json()
        if body.get("status") != "success":
            raise ValueError(f"{path} {params}: {body.get('error')}")
        return body["data"]


@contextlib.contextmanager
def running(targets: list[str], workdir: Path, scrape_seconds: float = 1.0,
            rule_files: tuple[Path, ...] = ()) -> Iterator[Prometheus]:
    """Prometheus scraping ``targets`` (host:port) every ``scrape_seconds``, with ``rule_files`` loaded."""
    interval = f"{int(scrape_seconds * 1000)}ms"
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": targets}]}],
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    argv = [BINARY, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h", "--log.level=warn"]
    log_path = workdir / "prometheus.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        prometheus = Prometheus(f"http://127.0.0.1:{port}", log_path)
        _wait_ready(prometheus, process)
        yield prometheus
    finally:
        stop_process(process)


def _wait_ready(prometheus: Prometheus, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}: {prometheus.log_path.read_text()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(prometheus.url + "/-/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError("prometheus did not become ready")
