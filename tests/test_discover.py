"""``callnos-gateway discover``: reported paths beside the configured ones; never callnos."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import SIM_PASSWORD, SIM_USER

ROOT = Path(__file__).resolve().parent.parent
COMMAND = str(Path(sys.executable).parent / "callnos-gateway")


def discover(upstream_url: str, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLNOS_")}
    env.update(CALLNOS_UPSTREAM_URL=upstream_url, CALLNOS_USERNAME=SIM_USER, CALLNOS_PASSWORD=SIM_PASSWORD,
               CALLNOS_API_KEYS="k", **settings)
    return subprocess.run([COMMAND, "discover"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def row(output: str, setting: str) -> list[str]:
    [line] = [line for line in output.splitlines() if f" {setting} " in line]
    return line.split()


def test_matching_paths_exit_0_and_callnos_is_never_called(sim):
    result = discover(sim.url)
    assert result.returncode == 0, result.stderr
    assert "upstream interface version: 311" in result.stdout
    tasks = row(result.stdout, "CALLNOS_PATH_TASKS")
    assert tasks[-2] == tasks[-1] == "/rest/isales/v1/openapi/obs/business/tasks"
    assert row(result.stdout, "CALLNOS_PATH_LOGIN")[-1] == "-"  # the upstream does not report login
    assert "pushTaskStatus" in result.stdout
    stats = sim.stats()
    assert (stats["discovery"], stats["callnos"], stats["records_taken"]) == (1, 0, 0)


def test_a_path_that_differs_is_marked_and_exits_1(sim):
    result = discover(sim.url, CALLNOS_PATH_HOLIDAY="/iSales/getHoliDay")
    assert result.returncode == 1
    holiday = row(result.stdout, "CALLNOS_PATH_HOLIDAY")
    assert holiday[0] == "!=" and holiday[-2:] == ["/iSales/getHoliDay", "/rest/isales/v1/openapi/obs/business/isholiday"]
    assert row(result.stdout, "CALLNOS_PATH_TASKS")[0] != "!="


def test_it_carries_the_configured_business_token(gateway):
    from callnos_gateway.simulator import Simulator, SimulatorConfig

    config = SimulatorConfig(port=0, user=SIM_USER, password=SIM_PASSWORD, business_token="refresh_token")
    with Simulator(config) as sim:
        assert discover(sim.url).returncode == 3  # an access token is refused in this mode
        assert discover(sim.url, CALLNOS_BUSINESS_TOKEN="refresh_token").returncode == 0


def test_an_unreachable_upstream_or_a_bad_setting_is_one_line_and_no_traceback(sim):
    unreachable = discover("http://127.0.0.1:9", CALLNOS_CONNECT_RETRIES="0")
    assert unreachable.returncode == 3 and "upstream_unreachable" in unreachable.stderr
    bad = discover(sim.url, CALLNOS_PATH_TASKS="tasks")
    assert bad.returncode == 2 and "CALLNOS_PATH_TASKS" in bad.stderr
    for result in (unreachable, bad):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert SIM_PASSWORD not in result.stdout + result.stderr
