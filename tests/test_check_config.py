"""``callnos-gateway check-config``: the settings as the server reads them, secrets masked."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
import requests

from conftest import SIM_PASSWORD, SIM_USER
from servers import BIN, ROOT, free_port, gunicorn_process

LOCAL_ENV = str(ROOT / "envs" / "local.env")
SECRETS = {
    "password": "pw-6c1f0e9a", "token": "tok-5b2d7a31", "api key": "key-0e4d9f27",
    "upstream url password": "up-8a3c1d55", "proxy password": "px-2f9e6b13", "redis password": "rd-7d0a4c92",
}


def check_config(env: dict[str, str], *args: str, command: tuple[str, ...] = (sys.executable, "-m", "callnos_gateway.cli")):
    """Run the command with only ``env`` as CALLNOS_* settings; stdout and stderr apart."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLNOS_")}
    return subprocess.run([*command, "check-config", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def login_env(url: str, **extra: str) -> dict[str, str]:
    return {"CALLNOS_UPSTREAM_URL": url, "CALLNOS_USERNAME": SIM_USER, "CALLNOS_PASSWORD": SIM_PASSWORD,
            "CALLNOS_API_KEYS": "k-check-1,k-check-2", **extra}


def test_the_local_env_file_is_printed_with_its_secrets_masked():
    result = check_config({"CALLNOS_ENV_FILE": LOCAL_ENV}, command=(str(BIN / "callnos-gateway"),))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["env_file"] == LOCAL_ENV
    settings = report["settings"]
    assert (settings["upstream_url"], settings["username"], settings["sub_cc_no"]) == ("http://127.0.0.1:8081", "demo", 1)
    assert (settings["password"], settings["token"], settings["api_keys"]) == ("***", None, 0)
    assert settings["clients"] == ["local-dialer", "local-east"]  # envs/local.clients.toml: names, never digests
    assert "demo-password" not in result.stdout + result.stderr and "local-dev-key" not in result.stdout
    assert "ed5a18fb" not in result.stdout
    assert "connect" not in report


def test_the_environment_wins_over_the_file_as_for_the_server():
    result = check_config({"CALLNOS_ENV_FILE": LOCAL_ENV, "CALLNOS_MAX_BATCH": "42"})
    assert result.returncode == 0 and json.loads(result.stdout)["settings"]["max_batch"] == 42


def test_missing_settings_exit_3_with_one_line_naming_each():
    result = check_config({})
    assert (result.returncode, result.stdout) == (3, "")
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[1] for line in lines] == ["CALLNOS_UPSTREAM_URL"]
    result = check_config({"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9"})
    named = [line.split(": ")[1] for line in result.stderr.strip().splitlines()]
    assert result.returncode == 3 and named == ["CALLNOS_API_KEYS", "CALLNOS_PASSWORD", "CALLNOS_USERNAME"]


def test_bad_settings_exit_3_with_one_line_naming_each():
    env = {"CALLNOS_ENV_FILE": LOCAL_ENV, "CALLNOS_READ_TIMEOUT": "soon", "CALLNOS_MAX_BATCH": "0",
           "CALLNOS_PROXY_URL": "socks5://u:px-2f9e6b13@127.0.0.1:1080"}
    result = check_config(env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 3 and result.stdout == ""
    assert [line.split(": ")[1] for line in lines] == ["CALLNOS_MAX_BATCH", "CALLNOS_PROXY_URL", "CALLNOS_READ_TIMEOUT"]
    assert all(line.startswith("invalid configuration: ") for line in lines)
    assert "px-2f9e6b13" not in result.stderr and "Traceback" not in result.stderr


def test_a_missing_env_file_is_named():
    result = check_config({"CALLNOS_ENV_FILE": "/no/such/file.env"})
    assert result.returncode == 3 and "CALLNOS_ENV_FILE: no such file" in result.stderr


def test_connect_gets_a_token_from_the_simulator_and_never_calls_callnos(sim):
    result = check_config(login_env(sim.url), "--connect")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["connect"] == {"ready": True, "auth_mode": "login", "token_shared": True}
    assert (sim.stats()["login"], sim.stats()["callnos"]) == (1, 0)


def test_connect_logs_in_afresh_even_with_a_valid_token_in_the_store(sim, tmp_path):
    env = login_env(sim.url, CALLNOS_TOKEN_STORE=f"sqlite:///{tmp_path / 'tokens.sqlite3'}")
    for run in (1, 2):  # the second run finds the first one's token stored and still valid: it logs in anyway
        result = check_config(env, "--connect")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["connect"] == {"ready": True, "auth_mode": "login", "token_shared": True}
        assert (sim.stats()["login"], sim.stats()["callnos"]) == (run, 0)
    # A password changed upstream but not here: the stored token still works, and check-config must not say "ok".
    result = check_config({**env, "CALLNOS_PASSWORD": "not-the-password"}, "--connect")
    assert result.returncode == 4 and json.loads(result.stdout)["connect"]["code"] == "upstream_auth_failed"


def test_a_running_deployment_takes_the_token_check_config_got_on_an_invalidating_upstream(sim, tmp_path):
    """Each login ends the earlier sessions: the workers' token dies, and they take the new one from the store."""
    sim.set_invalidating_login(True)
    env = login_env(sim.url, CALLNOS_TOKEN_STORE=f"sqlite:///{tmp_path / 'tokens.sqlite3'}",
                    CALLNOS_SUB_CC_NO="1", CALLNOS_VDN_ID="1")
    fetch = {"json": {"task_id": 1001, "batch_size": 2}, "headers": {"X-API-Key": "k-check-1", "Connection": "close"}}
    with gunicorn_process(tmp_path, env, workers=2) as gateway:
        before = [requests.post(gateway.url + "/v1/call-data", timeout=10, **fetch) for _ in range(4)]
        logins = sim.stats()["login"]
        result = check_config(env, "--connect")
        assert result.returncode == 0 and json.loads(result.stdout)["connect"]["token_shared"] is True
        after = [requests.post(gateway.url + "/v1/call-data", timeout=10, **fetch) for _ in range(6)]
    assert [answer.status_code for answer in before + after] == [200] * 10
    assert sim.stats()["login"] == logins + 1  # check-config's login only: no worker logged in again


def test_connect_reports_the_problem_code_of_a_refused_login(sim):
    result = check_config(login_env(sim.url, CALLNOS_PASSWORD="not-the-password"), "--connect")
    connect = json.loads(result.stdout)["connect"]
    assert result.returncode == 4
    assert (connect["ready"], connect["code"]) == (False, "upstream_auth_failed")
    assert sim.stats()["callnos"] == 0


def test_connect_reports_an_unreachable_upstream():
    env = login_env(f"http://127.0.0.1:{free_port()}", CALLNOS_CONNECT_RETRIES="0")
    result = check_config(env, "--connect")
    assert result.returncode == 4 and json.loads(result.stdout)["connect"]["code"] == "upstream_unreachable"


def test_connect_in_static_mode_calls_nothing(sim):
    env = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "tok-static-1",
           "CALLNOS_API_KEYS": "k"}
    result = check_config(env, "--connect")
    assert result.returncode == 0 and json.loads(result.stdout)["connect"]["ready"] is True
    assert sim.stats()["login"] == 0 and sim.stats()["callnos"] == 0


@pytest.mark.parametrize("connect", [False, True])
def test_the_output_never_holds_a_secret(sim, connect):
    env = {
        "CALLNOS_UPSTREAM_URL": sim.url.replace("http://", f"http://someone:{SECRETS['upstream url password']}@"),
        "CALLNOS_USERNAME": SIM_USER, "CALLNOS_PASSWORD": SECRETS["password"], "CALLNOS_TOKEN": SECRETS["token"],
        "CALLNOS_API_KEYS": SECRETS["api key"],
        "CALLNOS_PROXY_URL": f"http://relay:{SECRETS['proxy password']}@127.0.0.1:{free_port()}",
        "CALLNOS_IDEMPOTENCY_URL": f"redis://:{SECRETS['redis password']}@127.0.0.1:6379/0",
        "CALLNOS_CONNECT_RETRIES": "0", "CALLNOS_LOG_LEVEL": "DEBUG",
    }
    result = check_config(env, *(["--connect"] if connect else []))
    assert result.returncode == (4 if connect else 0), result.stderr
    settings = json.loads(result.stdout)["settings"]
    assert settings["proxy_url"].startswith("http://relay:***@127.0.0.1:")
    assert settings["idempotency_url"] == "redis://:***@127.0.0.1:6379/0"
    assert (settings["password"], settings["token"], settings["api_keys"]) == ("***", "***", 1)
    everything = result.stdout + result.stderr
    basic = base64.b64encode(f"relay:{SECRETS['proxy password']}".encode()).decode()
    for what, secret in [*SECRETS.items(), ("proxy basic credentials", basic)]:
        assert secret not in everything, what


def test_the_readme_check_before_a_restart_works_as_written(sim, tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    [command] = [line for line in section.splitlines() if line.strip().endswith("check-config --connect")]
    example = (ROOT / "envs" / "production.env.example").read_text()
    filled = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": SIM_USER,
              "CALLNOS_PASSWORD_FILE": str(tmp_path / "password"), "CALLNOS_API_KEYS": "k-readme"}
    for name, value in filled.items():
        example = example.replace(f"\n{name}=\n", f"\n{name}={value}\n")
    (tmp_path / "password").write_text(SIM_PASSWORD)
    (tmp_path / "production.env").write_text(example)
    command = command.replace("/etc/callnos-gateway/production.env", str(tmp_path / "production.env"))
    command = command.replace("/opt/callnos-gateway/bin/", f"{BIN}/")
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLNOS_")}
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["connect"]["ready"] is True and sim.stats()["login"] == 1
