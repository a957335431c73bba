"""The package's layout: one top-level package, subpackages whose imports point down, light settings.

A newcomer finds the room for a change by its subpackage's name; these tests
keep the rooms from leaking into each other (docs/ARCHITECTURE.md draws the map).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port, stop_process, wait_until_serving

PACKAGE = ROOT / "src" / "callnos_gateway"
# What each part of the package may import of the package (itself always).
ALLOWED = {
    "errors": set(),
    "settings": {"errors"},
    "records": {"errors"},
    "stores": {"errors", "settings"},
    "upstream": {"errors", "settings", "records", "stores"},
    "telemetry": {"errors", "settings"},
    "api": {"errors", "settings", "records", "stores", "upstream", "telemetry"},
    "app": {"errors", "settings", "api", "telemetry"},
    "server": {"errors", "settings", "telemetry"},
    "wsgi": {"errors", "settings", "app", "server", "telemetry"},
    "cli": {"errors", "settings", "stores", "upstream", "telemetry", "app", "api"},
    "simulator": set(),  # a stand-in for the upstream knows nothing of the gateway
}


def imports_by_part() -> dict[str, set[str]]:
    """Which parts of the package each part imports, read from the source."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found[part] |= {name.split(".")[1] for name in names if name.startswith("callnos_gateway.")} - {part}
    return found


def test_every_part_is_declared_and_imports_point_down_only():
    found = imports_by_part()
    assert set(found) - {"__init__"} <= set(ALLOWED)
    upward = {part: sorted(names - ALLOWED.get(part, set())) for part, names in found.items()
              if names - ALLOWED.get(part, set())}
    assert upward == {}


def loaded_by(module: str) -> list[str]:
    """The modules a fresh interpreter has loaded after importing ``module``."""
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


def test_settings_load_nothing_they_configure():
    ours = [name for name in loaded_by("callnos_gateway.settings") if name.startswith("callnos_gateway.")]
    assert {name.split(".")[1] for name in ours} == {"settings", "errors"}


def test_the_transport_loads_no_store_and_few_modules():
    loaded = loaded_by("callnos_gateway.upstream.transport")
    assert "redis" not in loaded and "sqlite3" not in loaded
    assert len([name for name in loaded if name.startswith("callnos_gateway")]) <= 10


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of the project, built without the network (the build backend comes from the lock)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(ROOT)], check=True, timeout=300, cwd=out)
    [built] = out.glob("callnos_gateway-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package(wheel):
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"callnos_gateway"}
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.startswith(("callnos_gateway/tests", "bench/", "tests/"))]
    assert "callnos_gateway/simulator/__main__.py" in names


def test_the_installed_wheel_serves_from_a_folder_with_no_checkout(wheel, tmp_path):
    """The README's production command and both commands, run from an empty folder.

    The venv sees the test environment's dependencies through a ``.pth`` line
    (a path added that way is not a site dir, so the checkout's editable
    install is not loaded): only the wheel can provide ``callnos_gateway``.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = Path(next(p for p in sys.path if p.endswith("site-packages")))
    (site / "deps.pth").write_text(f"{deps}\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import callnos_gateway; print(callnos_gateway.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site))
    empty = tmp_path / "empty"
    empty.mkdir()
    sim_port, port = free_port(), free_port()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "GUNICORN_BIND": f"127.0.0.1:{port}",
           "CALLNOS_UPSTREAM_URL": f"http://127.0.0.1:{sim_port}", "CALLNOS_USERNAME": "demo",
           "CALLNOS_PASSWORD": "demo-password", "CALLNOS_API_KEYS": "wheel-key", "CALLNOS_SUB_CC_NO": "1",
           "CALLNOS_VDN_ID": "1", "GUNICORN_WORKERS": "1"}
    simulator = subprocess.Popen([python, "-m", "callnos_gateway.simulator", "--port", str(sim_port)], cwd=empty,
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = subprocess.Popen([python, "-m", "gunicorn", "-c", "python:callnos_gateway.server.gunicorn_config",
                                "callnos_gateway.wsgi:app"], cwd=empty, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(f"http://127.0.0.1:{sim_port}/_sim/stats", process=simulator)
        wait_until_serving(f"http://127.0.0.1:{port}/healthz", process=gateway)
        import requests

        answer = requests.post(f"http://127.0.0.1:{port}/v1/call-data", json={"task_id": 1001, "batch_size": 2},
                               headers={"X-API-Key": "wheel-key"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["count"] == 2
        checked = subprocess.run([str(venv / "bin" / "callnos-gateway"), "check-config"], cwd=empty, env=env,
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        stop_process(gateway)
        stop_process(simulator)
    assert not (empty / "src").exists() and os.listdir(empty) != ["src"]
