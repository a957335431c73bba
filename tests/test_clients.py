"""The clients file: parsing, every validation rule of CONTRACT 10, key lookup (pure, no Flask)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from callnos_gateway.settings.clients import ALL_TASKS, SCOPES, ClientRing, clients_from_keys, key_digest, load_clients_file
from callnos_gateway.settings import load_settings
from callnos_gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EAST_KEY, WEST_KEY = "east-key-5b1e0f2c9a", "west-key-0c4d7a81e3"
EAST, WEST = (hashlib.sha256(key.encode()).hexdigest() for key in (EAST_KEY, WEST_KEY))
GOOD = f"""
[[client]]
name = "dialer-east"
key_sha256 = "{EAST}"
tasks = ["1001", "1002"]
allow = ["call-data", "results"]

[[client]]
name = "reporting"
key_sha256 = "{WEST.upper()}"
tasks = ["*"]
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "clients.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def entry(name='"dialer-east"', digest=f'"{EAST}"', tasks='["1001"]', allow=None) -> str:
    lines = ["[[client]]", *(f"{field} = {value}" for field, value in
                             (("name", name), ("key_sha256", digest), ("tasks", tasks), ("allow", allow))
                             if value is not None)]
    return "\n".join(lines) + "\n"


def test_a_good_file_gives_named_clients_with_their_scopes(tmp_path):
    east, reporting = load_clients_file(write(tmp_path, GOOD))
    assert (east.name, east.tasks, east.allow) == ("dialer-east", {"1001", "1002"}, {"call-data", "results"})
    assert (reporting.name, reporting.tasks, reporting.allow) == ("reporting", None, set(SCOPES))
    assert east.digest == key_digest(EAST_KEY) and reporting.digest == key_digest(WEST_KEY)


def test_task_scope_compares_as_strings_and_star_means_every_task(tmp_path):
    east, reporting = load_clients_file(write(tmp_path, GOOD))
    assert east.may_touch(1001) and east.may_touch("1002")
    assert not east.may_touch(1003) and not east.may_touch("01001") and not east.may_touch(ALL_TASKS)
    assert reporting.may_touch(99999) and reporting.may_touch("anything")


def test_the_tasks_list_is_filtered_to_the_clients_tasks_in_order(tmp_path):
    east, reporting = load_clients_file(write(tmp_path, GOOD))
    upstream = ["1003", "1002", "7", "1001"]
    assert east.visible_tasks(upstream) == ["1002", "1001"]
    assert reporting.visible_tasks(upstream) == upstream
    assert east.visible_tasks([]) == []


def test_several_entries_may_share_a_name(tmp_path):
    path = write(tmp_path, entry() + entry(digest=f'"{WEST}"'))
    old, new = load_clients_file(path)
    ring = ClientRing((old, new))
    assert ring.find(EAST_KEY) is old and ring.find(WEST_KEY) is new
    assert old.name == new.name == "dialer-east" and old.key_id != new.key_id


@pytest.mark.parametrize("text, says", [
    ("[[client]\nname = 'x'", "not valid TOML"),
    ("", "no [[client]] table"),
    ("client = 'x'", "no [[client]] table"),
    ("[clients]\nname = 'x'", "unknown table or key 'clients'"),
    (entry(name=None), "client #1: name is missing"),
    (entry(name='""'), "client #1: name is missing"),
    (entry(name="7"), "client #1: name is missing"),
    (entry(digest=None), "client #1 (dialer-east): key_sha256 must be 64 hex digits"),
    (entry(digest='"xyz"'), "client #1 (dialer-east): key_sha256 must be 64 hex digits"),
    (entry(digest=f'"{EAST[:-1]}g"'), "client #1 (dialer-east): key_sha256 must be 64 hex digits"),
    (entry(digest=f'"{EAST}00"'), "client #1 (dialer-east): key_sha256 must be 64 hex digits"),
    (entry(digest=f'"{EAST_KEY}"'), "client #1 (dialer-east): key_sha256 must be 64 hex digits"),
    (entry() + entry(name='"other"', digest=f'"{EAST.upper()}"'),
     "client #2 (other) has the same key_sha256 as client #1"),
    (entry(tasks="[]"), "client #1 (dialer-east): tasks must be a non-empty list"),
    (entry(tasks=None), "client #1 (dialer-east): tasks must be a non-empty list"),
    (entry(tasks='"1001"'), "client #1 (dialer-east): tasks must be a non-empty list"),
    (entry(tasks="[1001]"), "client #1 (dialer-east): every task id must be a non-empty string"),
    (entry(tasks='[""]'), "client #1 (dialer-east): every task id must be a non-empty string"),
    (entry(tasks='["*", "1001"]'), 'client #1 (dialer-east): tasks ["*"] stands alone'),
    (entry(allow='["call-data", "admin"]'), "client #1 (dialer-east): unknown allow word 'admin'"),
    (entry(allow='["Call-Data"]'), "client #1 (dialer-east): unknown allow word 'Call-Data'"),
    (entry(allow="[]"), "client #1 (dialer-east): allow must be a non-empty list"),
    (entry() + "scope = 'all'\n", "client #1 (dialer-east): unknown field 'scope'"),
])
def test_each_malformed_file_names_the_setting_and_the_entry(tmp_path, text, says):
    with pytest.raises(ConfigError) as caught:
        load_clients_file(write(tmp_path, text))
    line = caught.value.one_line()
    assert line.startswith("invalid configuration: CALLNOS_CLIENTS_FILE: ") and says in line
    assert "\n" not in line and EAST_KEY not in line


@pytest.mark.parametrize("make", [
    lambda tmp_path: str(tmp_path / "missing.toml"),
    lambda tmp_path: str(tmp_path),  # a directory
    lambda tmp_path: _unreadable(tmp_path),
    lambda tmp_path: _latin1(tmp_path),
])
def test_an_unreadable_file_names_the_setting(tmp_path, make):
    with pytest.raises(ConfigError) as caught:
        load_clients_file(make(tmp_path))
    assert "CALLNOS_CLIENTS_FILE: cannot read" in caught.value.one_line()


def _unreadable(tmp_path) -> str:
    path = write(tmp_path, GOOD)
    os.chmod(path, 0)
    if os.access(path, os.R_OK):  # root reads anything: use a path that is not a file instead
        return str(tmp_path / "no-such-dir" / "clients.toml")
    return path


def _latin1(tmp_path) -> str:
    path = tmp_path / "latin1.toml"
    path.write_bytes(entry(name='"d\xe9j\xe0"').encode("latin-1"))
    return str(path)


def test_a_digest_error_never_shows_the_file_content(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_clients_file(write(tmp_path, entry(digest=f'"{EAST}0"')))
    assert EAST not in caught.value.one_line()


def test_bare_api_keys_are_unnamed_clients_with_every_scope():
    [client] = clients_from_keys(["k-one"])
    assert client.name is None and client.tasks is None and client.allow == set(SCOPES)
    assert client.label == client.key_id == hashlib.sha256(b"k-one").hexdigest()[:12]


def test_the_ring_finds_no_client_for_near_misses():
    ring = ClientRing(clients_from_keys([EAST_KEY]))
    assert ring.find(EAST_KEY) is not None
    for near in (EAST_KEY[:-1], EAST_KEY + "x", EAST_KEY.upper(), EAST, f" {EAST_KEY}", EAST_KEY * 1000, "é" + EAST_KEY):
        assert ring.find(near) is None


# --- the setting, as load_settings reads it ---------------------------------

BASE = {"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "t0ken"}


@pytest.fixture
def env(monkeypatch):
    def apply(**values):
        for name, value in {**BASE, **values}.items():
            monkeypatch.setenv(name, value)
    return apply


def test_the_setting_loads_the_file(env, tmp_path):
    env(CALLNOS_CLIENTS_FILE=write(tmp_path, GOOD))
    settings = load_settings()
    assert [client.name for client in settings.clients] == ["dialer-east", "reporting"]
    assert settings.describe()["clients"] == ["dialer-east", "reporting"]
    assert EAST not in repr(settings) and EAST not in str(settings.describe())


def test_setting_both_the_file_and_api_keys_stops_the_start(env, tmp_path):
    env(CALLNOS_CLIENTS_FILE=write(tmp_path, GOOD), CALLNOS_API_KEYS="k1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "CALLNOS_CLIENTS_FILE: set both CALLNOS_CLIENTS_FILE and CALLNOS_API_KEYS" in caught.value.one_line()


def test_a_bad_file_stops_load_settings_naming_it(env, tmp_path):
    env(CALLNOS_CLIENTS_FILE=write(tmp_path, entry(allow='["everything"]')))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "CALLNOS_CLIENTS_FILE" in caught.value.problems and "'everything'" in caught.value.one_line()


def test_neither_keys_nor_file_nor_anonymous_stops_the_start(env):
    env()
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "CALLNOS_CLIENTS_FILE" in caught.value.one_line() and "CALLNOS_API_KEYS" in caught.value.problems


def test_a_start_with_a_clients_file_is_not_called_anonymous(tmp_path):
    env = {"PATH": "/usr/bin:/bin", **BASE, "CALLNOS_CLIENTS_FILE": write(tmp_path, GOOD)}
    result = subprocess.run([sys.executable, "-c", "from callnos_gateway import wsgi; print(len(wsgi.settings.clients))"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "2"
    assert "ANONYMOUS" not in result.stderr and EAST not in result.stderr
