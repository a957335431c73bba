"""Settings: read once from the environment or a dotenv file; bad ones name themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from callnos_gateway.settings import Settings, load_settings
from callnos_gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = {
    "CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9",
    "CALLNOS_USERNAME": "u",
    "CALLNOS_PASSWORD": "p-secret",
    "CALLNOS_API_KEYS": "k1, k2",
}


@pytest.fixture
def env(monkeypatch):
    def apply(**values):
        for name, value in {**MINIMAL, **values}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
    return apply


def test_defaults_follow_the_contract(env):
    env()
    s = load_settings()
    assert (s.auth_mode, s.auth_header, s.max_batch, s.max_body_bytes) == ("login", "Authorization", 500, 65536)
    assert (s.connect_timeout, s.read_timeout, s.connect_retries) == (3.0, 10.0, 2)
    assert s.total_timeout > s.read_timeout
    assert s.api_keys == ("k1", "k2")
    assert (s.sub_cc_no, s.vdn_id) == (None, None)
    assert s.idempotency_ttl == 86400
    assert (s.token_store, s.ready_timeout) == ("sqlite:///var/token-store.sqlite3", 2.0)  # the effective default
    assert s.idempotency_url == "sqlite:///var/idempotency.sqlite3"
    assert s.header_timeout == 10.0


def test_secrets_never_show_in_repr_or_describe(env):
    env(CALLNOS_API_KEYS="key-visible-nowhere")
    s = load_settings()
    for text in (repr(s), str(s.describe())):
        assert "p-secret" not in text and "key-visible-nowhere" not in text


def test_passwords_inside_urls_never_show_in_repr(env):
    env(CALLNOS_UPSTREAM_URL="https://svc:url-pw-1@isales.example", CALLNOS_IDEMPOTENCY_URL="redis://:url-pw-2@127.0.0.1:6379/0",
        CALLNOS_TOKEN_STORE="redis://:url-pw-3@127.0.0.1:6379/1")
    s = load_settings()
    text = repr(s)
    assert "url-pw" not in text and "svc:***@isales.example" in text


@pytest.mark.parametrize("values, named", [
    ({"CALLNOS_UPSTREAM_URL": None}, "CALLNOS_UPSTREAM_URL"),
    ({"CALLNOS_UPSTREAM_URL": "ftp://x"}, "CALLNOS_UPSTREAM_URL"),
    ({"CALLNOS_AUTH_MODE": "magic"}, "CALLNOS_AUTH_MODE"),
    ({"CALLNOS_READ_TIMEOUT": "soon"}, "CALLNOS_READ_TIMEOUT"),
    ({"CALLNOS_READ_TIMEOUT": "-1"}, "CALLNOS_READ_TIMEOUT"),
    ({"CALLNOS_MAX_BATCH": "0"}, "CALLNOS_MAX_BATCH"),
    ({"CALLNOS_SUB_CC_NO": "x"}, "CALLNOS_SUB_CC_NO"),
    ({"CALLNOS_ALLOW_ANONYMOUS": "perhaps"}, "CALLNOS_ALLOW_ANONYMOUS"),
    ({"CALLNOS_PASSWORD": None}, "CALLNOS_PASSWORD"),
    ({"CALLNOS_API_KEYS": None}, "CALLNOS_API_KEYS"),
    ({"CALLNOS_AUTH_MODE": "static"}, "CALLNOS_TOKEN"),
    ({"CALLNOS_CA_BUNDLE": "/no/such/file"}, "CALLNOS_CA_BUNDLE"),
    ({"CALLNOS_PASSWORD_FILE": "/no/such/file"}, "CALLNOS_PASSWORD_FILE"),
    ({"CALLNOS_AUTH_HEADER": "Bad Header"}, "CALLNOS_AUTH_HEADER"),
    ({"CALLNOS_TOTAL_TIMEOUT": "1"}, "CALLNOS_TOTAL_TIMEOUT"),
    ({"CALLNOS_ENV_FILE": "/no/such.env"}, "CALLNOS_ENV_FILE"),
    ({"CALLNOS_LOG_LEVEL": "LOUD"}, "CALLNOS_LOG_LEVEL"),
    ({"CALLNOS_TIME_ZONE": "Mars/Olympus_Mons"}, "CALLNOS_TIME_ZONE"),
    ({"CALLNOS_TIME_ZONE": "../../etc/passwd"}, "CALLNOS_TIME_ZONE"),
    ({"CALLNOS_TIME_FORMAT": "YYYY-MM-DD"}, "CALLNOS_TIME_FORMAT"),
    ({"CALLNOS_BUSINESS_TOKEN": "both"}, "CALLNOS_BUSINESS_TOKEN"),
    ({"CALLNOS_PATH_TASKS": "business/tasks"}, "CALLNOS_PATH_TASKS"),
    ({"CALLNOS_PATH_RESULT": "/call/result?x=1"}, "CALLNOS_PATH_RESULT"),
    ({"CALLNOS_PATH_DISCOVERY": "/a b"}, "CALLNOS_PATH_DISCOVERY"),
    ({"CALLNOS_TOKEN_STORE": "postgres://db"}, "CALLNOS_TOKEN_STORE"),
    ({"CALLNOS_TOKEN_STORE": "sqlite:///"}, "CALLNOS_TOKEN_STORE"),
    ({"CALLNOS_READY_TIMEOUT": "0"}, "CALLNOS_READY_TIMEOUT"),
    ({"CALLNOS_HEADER_TIMEOUT": "0"}, "CALLNOS_HEADER_TIMEOUT"),
    ({"CALLNOS_HEADER_TIMEOUT": "soon"}, "CALLNOS_HEADER_TIMEOUT"),
])
def test_a_bad_or_missing_setting_is_named_in_one_line(env, values, named):
    env(**values)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = caught.value.one_line()
    assert named in line and "\n" not in line


def test_anonymous_mode_allows_no_keys(env):
    env(CALLNOS_API_KEYS=None, CALLNOS_ALLOW_ANONYMOUS="true")
    assert load_settings().allow_anonymous is True


def test_secrets_can_come_from_files(env, tmp_path):
    (tmp_path / "pw").write_text("from-file\n")
    (tmp_path / "tok").write_text("tok-from-file")
    env(CALLNOS_PASSWORD=None, CALLNOS_PASSWORD_FILE=str(tmp_path / "pw"))
    assert load_settings().password == "from-file"
    env(CALLNOS_PASSWORD=None, CALLNOS_AUTH_MODE="static", CALLNOS_TOKEN_FILE=str(tmp_path / "tok"))
    assert load_settings().token == "tok-from-file"


def test_an_env_file_is_read_and_the_environment_wins(env, tmp_path, monkeypatch):
    env_file = tmp_path / "staging.env"
    env_file.write_text("CALLNOS_UPSTREAM_URL=https://file.example\nCALLNOS_MAX_BATCH=50\nCALLNOS_VDN_ID=3\n")
    env(CALLNOS_UPSTREAM_URL=None, CALLNOS_ENV_FILE=str(env_file), CALLNOS_MAX_BATCH="70")
    s = load_settings()
    assert (s.upstream_url, s.max_batch, s.vdn_id) == ("https://file.example", 70, 3)


def test_the_local_env_file_is_complete(env):
    env(CALLNOS_UPSTREAM_URL=None, CALLNOS_USERNAME=None, CALLNOS_PASSWORD=None, CALLNOS_API_KEYS=None,
        CALLNOS_ENV_FILE=str(ROOT / "envs" / "local.env"))
    s = load_settings()
    assert s.upstream_url.startswith("http://127.0.0.1")


def test_settings_refuse_impossible_combinations_when_built_directly():
    with pytest.raises(ConfigError):
        Settings(upstream_url="http://x", auth_mode="static", api_keys=("k",))


def test_wsgi_with_a_bad_setting_prints_one_line_and_no_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CALLNOS_UPSTREAM_URL": "not-a-url", "CALLNOS_ALLOW_ANONYMOUS": "true",
           "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "t"}
    result = subprocess.run([sys.executable, "-c", "import callnos_gateway.wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CALLNOS_UPSTREAM_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_the_outbound_settings_are_read_with_documented_defaults(env):
    env()
    s = load_settings()
    assert (s.business_token, s.time_format, s.time_zone) == ("token", "%Y-%m-%d %H:%M:%S", "UTC")
    assert s.paths["holiday"] == "/rest/isales/v1/openapi/obs/business/isholiday"
    env(CALLNOS_BUSINESS_TOKEN="refresh_token", CALLNOS_TIME_ZONE="Asia/Shanghai", CALLNOS_TIME_FORMAT="%Y%m%d%H%M%S",
        CALLNOS_PATH_TASKS="/iSales/getTask", CALLNOS_PATH_LOGIN="/iSales/login")
    s = load_settings()
    assert (s.business_token, s.zone.key, s.time_format) == ("refresh_token", "Asia/Shanghai", "%Y%m%d%H%M%S")
    assert (s.paths["tasks"], s.paths["login"], s.paths["callnos"]) == (
        "/iSales/getTask", "/iSales/login", "/rest/isales/v1/openapi/obs/business/callnos")


def test_a_bad_time_zone_stops_the_start_naming_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_ALLOW_ANONYMOUS": "true",
           "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "t", "CALLNOS_TIME_ZONE": "Europe/Atlantis"}
    result = subprocess.run([sys.executable, "-c", "import callnos_gateway.wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CALLNOS_TIME_ZONE" in lines[0] and "Europe/Atlantis" in lines[0]


def test_log_level_is_case_insensitive(env):
    env(CALLNOS_LOG_LEVEL="debug")
    assert load_settings().log_level == "DEBUG"


def test_describe_hides_passwords_in_urls(env):
    env(CALLNOS_UPSTREAM_URL="https://user:url-secret@upstream.example/base",
        CALLNOS_IDEMPOTENCY_URL="redis://:redis-secret@127.0.0.1:6379/0")
    described = str(load_settings().describe())
    assert "url-secret" not in described and "redis-secret" not in described
    assert "upstream.example/base" in described


def test_anonymous_mode_warns_at_start():
    env = {"PATH": "/usr/bin:/bin", "CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_ALLOW_ANONYMOUS": "true",
           "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "t"}
    result = subprocess.run([sys.executable, "-c", "import callnos_gateway.wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if "ALLOW_ANONYMOUS" in line]
    assert len(warnings) == 1 and '"level": "WARNING"' in warnings[0]
