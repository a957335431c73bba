"""Clients under a real gunicorn: rotation with ``kill -HUP``, bad files, hostile keys, logs (CONTRACT 10).

The rotation is the README's: add the new key under the same name, HUP, move
the app, remove the old key, HUP. A HUP with a bad file must not stop the
gateway, and a worker gunicorn recycles must not read a file nobody HUPed.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time

import pytest
import requests

from servers import gunicorn_process, json_lines, run_gunicorn, simulator_process, worker_pids

USER, PASSWORD = "ops-user", "ops-pa55word-81f3c9"
OLD_KEY, NEW_KEY, OTHER_KEY = "old-key-2f8e6d4c1a9b", "new-key-7a0c3e5b9d1f", "other-key-c4e1a7b3d9"
DIGESTS = {key: hashlib.sha256(key.encode()).hexdigest() for key in (OLD_KEY, NEW_KEY, OTHER_KEY)}
FETCH = {"task_id": 4242, "batch_size": 1}


def client_table(key: str, name: str = "dialer-east", tasks: str = '["4242"]', extra: str = "") -> str:
    return f'[[client]]\nname = "{name}"\nkey_sha256 = "{DIGESTS[key]}"\ntasks = {tasks}\n{extra}\n'


def write_atomically(path, text: str) -> None:
    """What an operator's editor or config tool should do: never a half-written file."""
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    os.replace(partial, path)


def gateway_env(upstream_url: str, clients_file, **extra: str) -> dict[str, str]:
    return {
        "CALLNOS_UPSTREAM_URL": upstream_url, "CALLNOS_USERNAME": USER, "CALLNOS_PASSWORD": PASSWORD,
        "CALLNOS_CLIENTS_FILE": str(clients_file), "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1", **extra,
    }


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with simulator_process(tmp_path_factory.mktemp("sim"), "--user", USER, "--password", PASSWORD) as running:
        yield running


def status(gateway, key: str | bytes, body: dict = FETCH) -> int:
    """One call on a new connection, so that calls spread over the workers."""
    headers = {"X-API-Key": key, "Connection": "close"}
    return requests.post(gateway.url + "/v1/call-data", json=body, headers=headers, timeout=10).status_code


def statuses(gateway, key: str, times: int = 6) -> set[int]:
    return {status(gateway, key) for _ in range(times)}


def hang_up(gateway) -> None:
    """``kill -HUP`` the master and wait until a whole new generation of workers serves."""
    master = gateway.process.pid
    old = set(worker_pids(master))
    os.kill(master, signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = set(worker_pids(master))
        if len(now) == 2 and not now & old:
            return
        time.sleep(0.05)
    raise TimeoutError("the workers were not replaced after SIGHUP")


def assert_no_key_or_digest(log: str) -> None:
    for key, digest in DIGESTS.items():
        assert key not in log and digest not in log and digest.upper() not in log


@pytest.mark.parametrize("preload", ["false", "true"])
def test_rotation_with_hup_needs_no_downtime(sim, tmp_path, preload):
    clients = tmp_path / "clients.toml"
    write_atomically(clients, client_table(OLD_KEY))
    env = gateway_env(sim.url, clients, GUNICORN_PRELOAD=preload)
    with gunicorn_process(tmp_path, env) as gateway:
        assert statuses(gateway, OLD_KEY) == {200} and statuses(gateway, NEW_KEY) == {401}
        write_atomically(clients, client_table(OLD_KEY) + client_table(NEW_KEY))  # 1. the new key, same name
        hang_up(gateway)                                                           # 2. HUP
        assert statuses(gateway, OLD_KEY) == statuses(gateway, NEW_KEY) == {200}  # 3. move the app
        write_atomically(clients, client_table(NEW_KEY))                           # 4. remove the old key
        hang_up(gateway)                                                           # 5. HUP
        assert statuses(gateway, OLD_KEY) == {401} and statuses(gateway, NEW_KEY) == {200}
        log = gateway.log()
    access = [line for line in json_lines(log)
              if line.get("logger") == "callnos.access" and line["path"] == "/v1/call-data"]
    assert {line["client"] for line in access if line["status"] == 200} == {"dialer-east"}
    assert {line["client"] for line in access if line["status"] == 401} == {None}
    assert_no_key_or_digest(log)


def test_a_hup_with_a_bad_file_keeps_the_previous_clients(sim, tmp_path):
    clients = tmp_path / "clients.toml"
    write_atomically(clients, client_table(OLD_KEY))
    with gunicorn_process(tmp_path, gateway_env(sim.url, clients)) as gateway:
        write_atomically(clients, client_table(OLD_KEY) + client_table(NEW_KEY, extra='allow = ["admin"]'))
        hang_up(gateway)
        assert gateway.process.poll() is None
        assert statuses(gateway, OLD_KEY) == {200} and statuses(gateway, NEW_KEY) == {401}
        write_atomically(clients, client_table(NEW_KEY))  # fixed: the next HUP takes it
        hang_up(gateway)
        assert statuses(gateway, OLD_KEY) == {401} and statuses(gateway, NEW_KEY) == {200}
        log = gateway.log()
    [refused] = [line for line in json_lines(log) if "reload refused" in line["message"]]
    assert refused["level"] == "ERROR" and refused["settings"] == ["CALLNOS_CLIENTS_FILE"]
    assert "client #2 (dialer-east): unknown allow word 'admin'" in refused["message"]
    assert_no_key_or_digest(log)


def test_a_recycled_worker_does_not_read_a_file_nobody_hupped(sim, tmp_path):
    clients = tmp_path / "clients.toml"
    write_atomically(clients, client_table(OLD_KEY))
    env = gateway_env(sim.url, clients, GUNICORN_MAX_REQUESTS="2", GUNICORN_MAX_REQUESTS_JITTER="0")
    with gunicorn_process(tmp_path, env) as gateway:
        first = set(worker_pids(gateway.process.pid))
        write_atomically(clients, "this is [[ not a clients file")
        assert [status(gateway, OLD_KEY) for _ in range(8)] == [200] * 8
        assert gateway.process.poll() is None
        assert wait_until(lambda: first - set(worker_pids(gateway.process.pid)))  # a worker was recycled meanwhile
        assert wait_until(lambda: set(worker_pids(gateway.process.pid)) - first)  # and its successor was forked
        fresh = set(worker_pids(gateway.process.pid)) - first
        # Whichever worker accepts first answers (gevent), so ask until a recycled one has answered. By time,
        # not count: a worker past its max_requests keeps accepting until its loop's next look (up to 1 s),
        # and on a quiet machine answers a few hundred requests in that second.
        answers, deadline = [], time.monotonic() + 15
        while time.monotonic() < deadline and not _answered_by(gateway, fresh):
            answers.append(status(gateway, OLD_KEY))
        assert _answered_by(gateway, fresh) and set(answers) <= {200}  # it kept the clients the master read


def _answered_by(gateway, pids: set[int]) -> bool:
    return any(line.get("logger") == "callnos.access" and line.get("pid") in pids for line in json_lines(gateway.log()))


def wait_until(condition, seconds: float = 15.0) -> bool:
    """Poll ``condition``: a gevent worker past max_requests drains for up to a second before it exits."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_scopes_hold_under_gunicorn_and_nothing_reaches_the_upstream(sim, tmp_path):
    clients = tmp_path / "clients.toml"
    write_atomically(clients, client_table(OLD_KEY) + client_table(OTHER_KEY, "reporting", '["*"]', 'allow = ["tasks"]'))
    with gunicorn_process(tmp_path, gateway_env(sim.url, clients)) as gateway:
        assert status(gateway, OLD_KEY) == 200
        before = requests.get(sim.url + "/_sim/stats", timeout=5).json()
        other_task = requests.post(gateway.url + "/v1/call-data", json={"task_id": 4243, "batch_size": 1},
                                   headers={"X-API-Key": OLD_KEY}, timeout=10)
        other_route = requests.post(gateway.url + "/v1/call-data", json=FETCH, headers={"X-API-Key": OTHER_KEY},
                                    timeout=10)
        after = requests.get(sim.url + "/_sim/stats", timeout=5).json()
    assert (other_task.status_code, other_task.json()["missing_scope"]) == (403, "tasks")
    assert (other_route.status_code, other_route.json()["missing_scope"]) == (403, "call-data")
    assert other_task.headers["Content-Type"] == "application/problem+json"
    assert after["callnos"] == before["callnos"] and after["by_task"] == before["by_task"]


HOSTILE = {
    "one character off": OLD_KEY[:-1] + "c",
    "one character short": OLD_KEY[:-1],
    "the digest as the key": DIGESTS[OLD_KEY],
    "very long": OLD_KEY * 300,  # 6,000 characters: under gunicorn's 8,190-byte header limit
    "non-ASCII, sent as UTF-8": ("ключ-" + OLD_KEY).encode(),
    "non-ASCII, sent as Latin-1": ("é" + OLD_KEY[1:]).encode("latin-1"),
    "the key with a NBSP": OLD_KEY.encode() + b"\xc2\xa0",
}


def test_hostile_keys_are_all_401(sim, tmp_path):
    clients = tmp_path / "clients.toml"
    write_atomically(clients, client_table(OLD_KEY))
    with gunicorn_process(tmp_path, gateway_env(sim.url, clients)) as gateway:
        before = requests.get(sim.url + "/_sim/stats", timeout=5).json()["callnos"]
        answers = {name: status(gateway, key) for name, key in HOSTILE.items()}
        after = requests.get(sim.url + "/_sim/stats", timeout=5).json()["callnos"]
        assert status(gateway, OLD_KEY) == 200  # the real key still works
        log = gateway.log()
    assert answers == dict.fromkeys(HOSTILE, 401)
    assert after == before
    assert_no_key_or_digest(log)


BAD_FILES = {
    "both settings": (client_table(OLD_KEY), {"CALLNOS_API_KEYS": "k-1234"}, "set both"),
    "unreadable": (None, {}, "cannot read"),
    "bad TOML": ("[[client]\n", {}, "not valid TOML"),
    "duplicate key": (client_table(OLD_KEY) + client_table(OLD_KEY, "twin"), {}, "client #2 (twin) has the same"),
    "bad hex": (client_table(OLD_KEY).replace(DIGESTS[OLD_KEY], "zz" * 32), {}, "client #1 (dialer-east): key_sha256"),
    "empty tasks": (client_table(OLD_KEY, tasks="[]"), {}, "client #1 (dialer-east): tasks must be"),
    "unknown allow": (client_table(OLD_KEY, extra='allow = ["call_data"]'), {}, "unknown allow word 'call_data'"),
    "missing name": (client_table(OLD_KEY).replace('name = "dialer-east"\n', ""), {}, "client #1: name is missing"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_clients_file_stops_the_start_naming_it(tmp_path, name):
    text, extra, says = BAD_FILES[name]
    clients = tmp_path / "clients.toml"
    if text is not None:
        clients.write_text(text)
    result = run_gunicorn(gateway_env("http://127.0.0.1:9", clients, **extra))
    assert result.returncode == 3 and "Traceback" not in result.stdout
    [line] = json_lines(result.stdout)
    assert line["settings"] == ["CALLNOS_CLIENTS_FILE"] and line["level"] == "CRITICAL"
    assert line["message"].startswith("invalid configuration: CALLNOS_CLIENTS_FILE: ") and says in line["message"]
    assert_no_key_or_digest(result.stdout)
