"""The Grafana dashboard's panels against real data: a gateway under traffic, scraped by a real Prometheus.

``python -m bench.dashboard`` (``make dashboard``) starts the simulator, the
gateway under gunicorn (two named clients) and Prometheus, drives a bounded
mix of traffic (batches, refused keys, bad bodies, a spell of upstream 500s
and one of slow answers), then draws every panel of
``deploy/grafana/callnos-gateway.json`` from Prometheus' answers with
matplotlib (the ``docs`` extra) into ``docs/dashboard.png``. The dashboard
test (tests/test_dashboard.py) runs the same stack for a few seconds and
checks each panel's queries return data.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import prometheus
from tests.servers import ROOT, Running, gunicorn_process, simulator_process

DASHBOARD = ROOT / "deploy" / "grafana" / "callnos-gateway.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
USER, PASSWORD = "watch-user", "watch-pa55word-41d2"
CLIENT_KEYS = {"dialer-east": "east-key-1c9a7e5d03", "dialer-west": "west-key-8b2f64e1aa"}
TASKS = ("1001", "1002")


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: its title, unit and (PromQL, legend) targets."""

    title: str
    unit: str
    targets: tuple[tuple[str, str], ...]


def panels(path: Path = DASHBOARD) -> list[Panel]:
    """The dashboard's graph panels (rows left out), in order."""
    found = []
    for panel in json.loads(path.read_text())["panels"]:
        if panel["type"] != "row":
            targets = tuple((target["expr"], target.get("legendFormat", "")) for target in panel["targets"])
            found.append(Panel(panel["title"], panel["fieldConfig"]["defaults"].get("unit", ""), targets))
    return found


def variables(path: Path = DASHBOARD) -> dict[str, str]:
    """The dashboard's query variables: name -> its ``label_values(...)`` query."""
    return {var["name"]: var["definition"] for var in json.loads(path.read_text())["templating"]["list"]
            if var["type"] == "query"}


def fill(expr: str, values: dict[str, str], rate_interval: str) -> str:
    """The query Grafana sends: variables replaced, ``$__rate_interval`` given a value."""
    expr = expr.replace("$__rate_interval", rate_interval)
    return re.sub(r"\$(\w+)", lambda match: values[match.group(1)], expr)


# dialer-east runs out of records within the first seconds of a drive, so the quota panels have refusals to show;
# dialer-west has no quota and keeps the upstream busy through every phase.
QUOTAS = {"dialer-east": 'records = "150/minute"\n'}


def clients_file(workdir: Path) -> Path:
    """A clients file naming the two bench clients (digests, never keys)."""
    tables = [f'[[client]]\nname = "{name}"\nkey_sha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n'
              f'tasks = {list(TASKS)!r}\n'.replace("'", '"') + QUOTAS.get(name, "") for name, key in CLIENT_KEYS.items()]
    path = workdir / "clients.toml"
    path.write_text("\n".join(tables))
    return path


@contextlib.contextmanager
def watched_gateway(workdir: Path, scrape_seconds: float = 1.0) -> Iterator[tuple[Running, Running, prometheus.Prometheus]]:
    """The simulator, the gateway (2 workers) and a Prometheus scraping it with the alert rules loaded."""
    with simulator_process(workdir, "--user", USER, "--password", PASSWORD, "--tasks", ",".join(TASKS)) as sim:
        env = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": USER, "CALLNOS_PASSWORD": PASSWORD,
               "CALLNOS_CLIENTS_FILE": str(clients_file(workdir)), "CALLNOS_SUB_CC_NO": "1",
               "CALLNOS_VDN_ID": "1", "CALLNOS_READ_TIMEOUT": "5"}
        with gunicorn_process(workdir, env, workers=2) as gateway:
            target = gateway.url.removeprefix("http://")
            with prometheus.running([target], workdir, scrape_seconds, rule_files=(ALERTS,)) as prom:
                yield sim, gateway, prom


PHASES = (("calm", None), ("upstream 500s", "status:500"), ("calm", None), ("slow upstream", "latency:300"),
          ("calm", None))


def drive(gateway: Running, sim: Running, seconds: float, max_requests: int = 20_000) -> int:
    """Bounded traffic in phases (see ``PHASES``); returns the requests sent."""
    sent, started = 0, time.monotonic()
    with requests.Session() as session:
        for index, (_, fault) in enumerate(PHASES):
            requests.post(sim.url + "/_sim/run-fault", json={"endpoint": "callnos", "fault": fault}, timeout=5)
            phase_end = started + seconds * (index + 1) / len(PHASES)
            while time.monotonic() < phase_end and sent < max_requests:
                sent += _one_round(session, gateway.url, sent)
                time.sleep(0.05)
    return sent


def _one_round(session: requests.Session, url: str, turn: int) -> int:
    """Each client fetches a batch; now and then a refused key or a bad body."""
    for name, key in CLIENT_KEYS.items():
        body = {"task_id": int(TASKS[turn % len(TASKS)]), "batch_size": 5 if name == "dialer-east" else 2}
        session.post(url + "/v1/call-data", json=body, headers={"X-API-Key": key}, timeout=30)
    if turn % 5 == 0:
        session.post(url + "/v1/call-data", json={"task_id": 1001}, headers={"X-API-Key": "wrong-key"}, timeout=30)
        session.post(url + "/v1/call-data", json={"task_id": "x"}, headers={"X-API-Key": CLIENT_KEYS["dialer-east"]},
                     timeout=30)
    session.get(url + "/v1/tasks", headers={"X-API-Key": CLIENT_KEYS["dialer-west"]}, timeout=30)
    return len(CLIENT_KEYS) + 1 + (2 if turn % 5 == 0 else 0)


def render(prom: prometheus.Prometheus, start: float, end: float, out: Path, rate_interval: str = "15s") -> None:
    """Draw every panel over [start, end] from Prometheus' range queries into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = panels()
    columns = 3
    rows = -(-len(shown) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(18, 3.2 * rows), constrained_layout=True)
    all_values = {name: ".*" for name in variables()}
    step = max(1.0, (end - start) / 200)
    for axis, panel in zip(axes.flat, shown):
        _draw(axis, panel, prom, start, end, step, all_values, rate_interval)
    for axis in list(axes.flat)[len(shown):]:
        axis.axis("off")
    figure.suptitle(f"callnos-gateway: {int(end - start)} s of a real run, scraped by Prometheus", fontsize=14)
    figure.savefig(out, dpi=72)
    plt.close(figure)


def _draw(axis, panel: Panel, prom, start: float, end: float, step: float, values: dict, rate_interval: str) -> None:
    lines = 0
    for expr, legend in panel.targets:
        for series in prom.query_range(fill(expr, values, rate_interval), start, end, step):
            points = [(float(t) - start, float(v)) for t, v in series["values"] if v not in ("NaN", "+Inf")]
            label = re.sub(r"\{\{(\w+)\}\}", lambda m: series["metric"].get(m.group(1), ""), legend)
            axis.plot([p[0] for p in points], [p[1] for p in points], label=label[:40])
            lines += 1
    axis.set_title(panel.title + ("" if lines else " (no data yet)"), fontsize=10)
    axis.set_xlabel("seconds into the run", fontsize=8)
    axis.set_ylabel(panel.unit, fontsize=8)
    axis.tick_params(labelsize=7)
    if lines:
        axis.legend(fontsize=6, loc="upper left")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="traffic time (bounded; default 150)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, watched_gateway(Path(tmp)) as (sim, gateway, prom):
        prom.wait_for_scrapes(2)
        start = time.time()
        sent = drive(gateway, sim, args.seconds)
        time.sleep(3)  # the last scrapes
        render(prom, start, time.time(), args.out)
    print(f"{sent} requests in {args.seconds:.0f} s; dashboard drawn to {args.out}")


if __name__ == "__main__":
    main()
