"""One upstream token per deployment, with real processes: gunicorn workers, two instances, SQLite, Redis.

The upstream is the simulator in its invalidating mode (each login kills
every earlier token of the user) unless a test says otherwise: there a token
per process fails, and only a shared token with one renewer holds. Bounded
loads, loopback only.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from callnos_gateway.upstream.auth import STORE_RETRY
from bench.load_driver import LoadResult, run_load
from conftest import SIM_PASSWORD, SIM_USER
from redis_server import redis_server
from servers import free_port, gunicorn_process, json_lines, simulator_process, worker_pids

API_KEY = "token-key"
FETCHES = 300
CLIENTS = 8


def gateway_env(sim_url: str, store: str, **extra: str) -> dict[str, str]:
    return {
        "CALLNOS_UPSTREAM_URL": sim_url, "CALLNOS_USERNAME": "demo", "CALLNOS_PASSWORD": "demo-password",
        "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
        "CALLNOS_LOG_LEVEL": "WARNING", "CALLNOS_TOKEN_STORE": store, **extra,
    }


def sim_env(sim, store: str, **extra: str) -> dict[str, str]:
    """``gateway_env`` for the in-process simulator (the ``sim`` fixture) and its user."""
    return gateway_env(sim.url, store, CALLNOS_USERNAME=SIM_USER, CALLNOS_PASSWORD=SIM_PASSWORD, **extra)


def load(url: str, fetches: int = FETCHES, clients: int = CLIENTS, seconds: float = 60) -> LoadResult:
    """Fetches on new connections each time, so gunicorn hands them to every worker."""
    return run_load(url + "/v1/call-data", clients=clients, requests_total=fetches, seconds=seconds,
                    body={"task_id": 1001, "batch_size": 2}, headers={"X-API-Key": API_KEY, "Connection": "close"})


def stats(sim_url: str) -> dict:
    return requests.get(sim_url + "/_sim/stats", timeout=5).json()


def workers_with_open(path: Path, master_pid: int) -> int:
    """How many workers hold ``path`` open: each opens it on its first token lookup."""
    count = 0
    for pid in worker_pids(master_pid):
        fds = Path(f"/proc/{pid}/fd")
        count += any(os.path.realpath(fds / fd) == str(path.resolve()) for fd in os.listdir(fds))
    return count


def test_two_workers_on_an_invalidating_upstream_share_one_login_through_sqlite(tmp_path):
    db = tmp_path / "tokens.sqlite3"
    with simulator_process(tmp_path, "--invalidating-login") as sim, \
            gunicorn_process(tmp_path, gateway_env(sim.url, f"sqlite:///{db}")) as gateway:
        result = load(gateway.url)
        both_workers = workers_with_open(db, gateway.process.pid)
        seen = stats(sim.url)
    print("sqlite, invalidating:", result.summary(), "logins:", seen["login"])
    assert result.statuses == {200: FETCHES}
    assert seen["login"] <= 2
    assert both_workers == 2
    for path in (db, *tmp_path.glob("tokens.sqlite3-*")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_memory_store_fails_the_same_case(tmp_path):
    """Why the store exists: with a token per worker, each login kills the other worker's token."""
    with simulator_process(tmp_path, "--invalidating-login") as sim, \
            gunicorn_process(tmp_path, gateway_env(sim.url, "memory")) as gateway:
        result = load(gateway.url)
        seen = stats(sim.url)
    print("memory, invalidating:", result.summary(), "logins:", seen["login"])
    assert seen["login"] > 2  # the workers keep logging each other out
    assert seen["callnos_unauthorized"] > 0


@pytest.mark.redis
def test_two_instances_on_an_invalidating_upstream_share_one_login_through_redis(tmp_path, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    with simulator_process(tmp_path, "--invalidating-login") as sim:
        env = gateway_env(sim.url, redis_url)
        with gunicorn_process(tmp_path, env) as one, gunicorn_process(tmp_path, env) as two:
            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(lambda url: load(url, FETCHES // 2, CLIENTS // 2), [one.url, two.url]))
        seen = stats(sim.url)
    print("redis, two instances, invalidating:", [r.summary() for r in results], "logins:", seen["login"])
    assert [r.statuses for r in results] == [{200: FETCHES // 2}] * 2
    assert seen["login"] <= 2


def test_short_lived_tokens_are_renewed_about_once_per_lifetime_not_per_worker(tmp_path):
    ttl = 1.5  # renewed 20 % before expiry: every 1.2 s
    with simulator_process(tmp_path, "--invalidating-login", "--token-ttl", str(ttl)) as sim, \
            gunicorn_process(tmp_path, gateway_env(sim.url, f"sqlite:///{tmp_path}/t.sqlite3")) as gateway:
        result = load(gateway.url, fetches=100_000, seconds=6)
        seen = stats(sim.url)
    renewals = seen["login"] + seen["refresh"]
    lifetimes = result.seconds / (0.8 * ttl)
    print("expiry under load:", result.summary(), "logins:", seen["login"], "refreshes:", seen["refresh"])
    assert set(result.statuses) == {200}
    assert 2 <= renewals <= lifetimes + 2  # a token per worker would be about twice as many


def test_a_worker_killed_holding_the_renew_lock_blocks_the_others_only_until_the_lease_ends(sim, tmp_path):
    db = tmp_path / "tokens.sqlite3"
    env = sim_env(sim, f"sqlite:///{db}", CALLNOS_READ_TIMEOUT="2", CALLNOS_TOTAL_TIMEOUT="2")  # lease 3 s
    with gunicorn_process(tmp_path, env) as gateway:
        sim.push_faults("login", ["latency:5000"])  # the first login hangs
        threading.Thread(target=_fetch_ignoring_errors, args=(gateway.url,), daemon=True).start()
        holder_pid, lease_ends = _wait_for_lock_holder(db)
        _wait_until(lambda: sim.stats()["login"] == 1, 5, interval=0.01)  # its login hangs at the upstream (fault taken)
        os.kill(holder_pid, signal.SIGKILL)
        answer = _fetch(gateway.url)
        answered_at = time.time()
    assert answer.status_code == 200
    assert lease_ends - 0.2 <= answered_at <= lease_ends + 3.0
    assert sim.stats()["login"] == 2  # the dead one's, then one for everyone


def test_an_unreachable_token_store_at_start_and_mid_run_costs_no_request(sim, tmp_path):
    port = free_port()
    store = f"redis://127.0.0.1:{port}/0"
    # One worker: under gevent whichever worker accepts first serves a request, so with two the worker that
    # held its own token might never serve again, and whether "answers again" is logged would be chance.
    with gunicorn_process(tmp_path, sim_env(sim, store, CALLNOS_LOG_LEVEL="INFO"), workers=1) as gateway:
        assert [_fetch(gateway.url).status_code for _ in range(6)] == [200] * 6  # store down from the start
        assert _store_errors(gateway.url) >= 1
        with redis_server(tmp_path, port=port):
            _wait_until(lambda: _fetch(gateway.url).status_code == 200 and _stored_tokens(store) == 1, 10)
            logins_when_shared = sim.stats()["login"]
            time.sleep(STORE_RETRY + 0.2)  # a worker that failed at the start (and served nothing since) tries again
        errors_before = _store_errors(gateway.url)
        sim.expire_tokens()  # mid-run, the store down again: every worker must renew on its own
        assert [_fetch(gateway.url).status_code for _ in range(6)] == [200] * 6
        assert _store_errors(gateway.url) > errors_before
        with redis_server(tmp_path, port=port):
            sim.expire_tokens()
            _wait_until(lambda: _fetch(gateway.url).status_code == 200 and _stored_tokens(store) == 1, 10)
    lines = json_lines(gateway.log())
    assert any("token store unreachable" in line.get("message", "") for line in lines)
    assert any("token store answers again" in line.get("message", "") for line in lines)
    assert logins_when_shared <= 2  # going back to the store reused a token instead of logging in
    assert not [t for t in sim.issued_tokens() if t in gateway.log()]  # no token in any log line


def test_readiness_answers_within_its_bound_while_the_login_hangs(sim, tmp_path):
    env = sim_env(sim, f"sqlite:///{tmp_path}/t.sqlite3", CALLNOS_READ_TIMEOUT="8", CALLNOS_READY_TIMEOUT="1")
    with gunicorn_process(tmp_path, env) as gateway:
        sim.set_run_fault("login", "latency:6000")
        timings = []
        for _ in range(4):
            started = time.monotonic()
            answer = requests.get(gateway.url + "/readyz", headers={"Connection": "close"}, timeout=10)
            timings.append(time.monotonic() - started)
            assert (answer.status_code, answer.json().get("reason")) == (503, "upstream_timeout"), answer.text
    assert max(timings) < 1.5
    assert (sim.stats()["login"], sim.stats()["callnos"]) == (1, 0)  # one login for every probe; never callnos


def _fetch(url: str) -> requests.Response:
    headers = {"X-API-Key": API_KEY, "Connection": "close"}
    return requests.post(url + "/v1/call-data", json={"task_id": 1001, "batch_size": 1}, headers=headers, timeout=15)


def _fetch_ignoring_errors(url: str) -> None:
    try:
        _fetch(url)
    except requests.RequestException:
        pass  # its worker is killed on purpose


def _wait_for_lock_holder(db: Path, timeout: float = 10) -> tuple[int, float]:
    """The pid of the process holding the renew lock, and when its lease ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as connection:
                row = connection.execute("SELECT holder, expires_at FROM token_renew_locks").fetchone()
        except sqlite3.Error:
            row = None
        if row:
            return int(row[0].split("/")[1]), row[1]
        time.sleep(0.02)
    raise TimeoutError("nobody took the renew lock")


def _store_errors(url: str) -> float:
    text = requests.get(url + "/metrics", timeout=5).text
    line = next(line for line in text.splitlines() if line.startswith("callnos_gateway_token_store_errors_total"))
    return float(line.split()[-1])


def _stored_tokens(url: str) -> int:
    try:
        return len(redis.Redis.from_url(url).keys("callnos:token:*"))
    except redis.RedisError:
        return 0


def _wait_until(condition, timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(interval)
