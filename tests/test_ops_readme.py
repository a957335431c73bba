"""The README's production section works as written; the environment files are complete."""

from __future__ import annotations

import dataclasses
import re
import signal
from pathlib import Path

import pytest
import requests

from callnos_gateway.settings import Settings
from callnos_gateway.upstream.obs import INTERFACES
from conftest import API_KEY, SIM_PASSWORD, SIM_USER
from servers import gunicorn_process, json_lines, run_gunicorn

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["envs/production.env.example", "envs/staging.env.example"]


def documented_start() -> list[str]:
    """The lines of the README's start block under "Running in production"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    block = next(b for b in re.findall(r"```sh\n(.*?)```", section, re.S) if "gunicorn -c" in b)
    return [line for line in block.splitlines() if line.strip()]


def filled_in(example: str, tmp_path: Path, **values: str) -> Path:
    """A copy of an example env file with its empty values filled in, as an operator would."""
    text = (ROOT / example).read_text()
    for name, value in values.items():
        text, count = re.subn(rf"(?m)^{name}=$", f"{name}={value}", text)
        assert count == 1, f"{example} has no empty {name}= to fill in"
    path = tmp_path / Path(example).name.removesuffix(".example")
    path.write_text(text)
    return path


def test_the_documented_production_command_starts_a_working_gateway(sim, tmp_path):
    export, command = documented_start()
    assert export.startswith("export CALLNOS_ENV_FILE=") and command == "gunicorn -c python:callnos_gateway.server.gunicorn_config callnos_gateway.wsgi:app"
    (tmp_path / "password").write_text(SIM_PASSWORD + "\n")
    env_file = filled_in(
        "envs/production.env.example", tmp_path, CALLNOS_UPSTREAM_URL=sim.url, CALLNOS_USERNAME=SIM_USER,
        CALLNOS_PASSWORD_FILE=str(tmp_path / "password"), CALLNOS_API_KEYS=API_KEY,
    )
    with gunicorn_process(tmp_path, {"CALLNOS_ENV_FILE": str(env_file)}, command=command) as gateway:
        assert requests.get(gateway.url + "/readyz", timeout=10).status_code == 200
        body = {"task_id": 7, "batch_size": 2, "call_center_id": 1, "vcc_id": 1}
        answer = requests.post(gateway.url + "/v1/call-data", json=body, headers={"X-API-Key": API_KEY}, timeout=10)
        assert (answer.status_code, answer.json()["count"]) == (200, 2)
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(timeout=15) == 0  # graceful stop
    assert SIM_PASSWORD not in gateway.log() and API_KEY not in gateway.log()


@pytest.mark.parametrize("example", EXAMPLES)
def test_an_example_not_filled_in_stops_the_start_naming_what_is_missing(example):
    result = run_gunicorn({"CALLNOS_ENV_FILE": str(ROOT / example)})
    assert result.returncode == 3
    [line] = json_lines(result.stdout)
    assert "CALLNOS_UPSTREAM_URL" in line["message"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_setting_is_documented_in_the_examples(example):
    text = (ROOT / example).read_text()
    names = setting_names() + ["GUNICORN_BIND", "GUNICORN_WORKERS"]
    assert [name for name in names if name not in text] == []


def setting_names() -> list[str]:
    """Every CALLNOS_* setting: one per Settings field, the paths one per interface, and the *_FILE secrets."""
    derived = ("paths", "clients")  # read from CALLNOS_PATH_* and from CALLNOS_CLIENTS_FILE
    names = [f"CALLNOS_{field.name.upper()}" for field in dataclasses.fields(Settings) if field.name not in derived]
    return names + [interface.setting for interface in INTERFACES] + ["CALLNOS_TOKEN_FILE", "CALLNOS_PASSWORD_FILE"]


def test_every_setting_is_in_the_readme_settings_table():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in setting_names()
               if f"`{name}`" not in table and f"`{name.removesuffix('_FILE')}` (`_FILE`)" not in table]
    assert missing == []


def test_gunicorn_settings_may_sit_in_the_env_file(tmp_path):
    env_file = tmp_path / "gunicorn.env"
    env_file.write_text("CALLNOS_UPSTREAM_URL=http://127.0.0.1:9\nCALLNOS_AUTH_MODE=static\n"
                        "CALLNOS_TOKEN=t0ken-value\nCALLNOS_API_KEYS=k3y-value\nGUNICORN_KEEPALIVE=never\n")
    result = run_gunicorn({"CALLNOS_ENV_FILE": str(env_file)})
    [line] = json_lines(result.stdout)
    assert result.returncode == 3 and line["settings"] == ["GUNICORN_KEEPALIVE"]
