"""Idempotency-Key across real processes: gunicorn workers, two gateways, a crashing worker.

These are the cases the store exists for: the replay comes from another
worker or another instance than the first answer, and an answer stored by a
worker that died before sending it still reaches the client on its retry.
The simulator runs in this process, so its counters are read directly.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import API_KEY, FETCH, SIM_PASSWORD, SIM_USER
from servers import GUNICORN_COMMAND, gunicorn_process, worker_pids
from callnos_gateway.simulator.records import customer_id

TASK = (1, 1, FETCH["task_id"])
# The gateway with a store that exits its worker right after storing (tests/crash_after_store_wsgi.py).
CRASH_AFTER_STORE = GUNICORN_COMMAND.replace(" callnos_gateway.wsgi:app", " --pythonpath tests crash_after_store_wsgi:app")  # (subCCNo, vdnId, serviceId) with the default ids


def gateway_env(sim, store_url: str, **extra: str) -> dict[str, str]:
    """Environment of a gunicorn gateway on the simulator with the given store."""
    return {
        "CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_AUTH_MODE": "login",
        "CALLNOS_USERNAME": SIM_USER, "CALLNOS_PASSWORD": SIM_PASSWORD, "CALLNOS_API_KEYS": API_KEY,
        "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1", "CALLNOS_READ_TIMEOUT": "3",
        "CALLNOS_IDEMPOTENCY_URL": store_url, "CALLNOS_LOG_LEVEL": "WARNING", **extra,
    }


def post(url: str, key: str, body: dict | None = None, timeout: float = 10) -> requests.Response:
    """One keyed request on a new connection (so gunicorn may hand it to any worker)."""
    headers = {"X-API-Key": API_KEY, "Idempotency-Key": key, "Connection": "close"}
    return requests.post(url + "/v1/call-data", json=body or FETCH, headers=headers, timeout=timeout)


def test_gunicorn_workers_share_the_sqlite_store(sim, tmp_path):
    db = tmp_path / "idempotency.sqlite3"
    with gunicorn_process(tmp_path, gateway_env(sim, f"sqlite:///{db}"), workers=4, threads=2) as gateway:
        sim.push_faults("callnos", ["latency:400"])
        with ThreadPoolExecutor(max_workers=12) as pool:
            racing = list(pool.map(lambda _: post(gateway.url, "shared"), range(12)))
        replays = [post(gateway.url, "shared") for _ in range(24)]
        workers_using_the_store = _processes_with_open(db, worker_pids(gateway.process.pid))
    first = [r for r in racing if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    assert len(first) == 1
    assert {r.status_code for r in racing} <= {200, 409}
    assert all(r.status_code == 200 and r.content == first[0].content for r in replays)
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in replays)
    assert sim.stats()["callnos"] == 1
    assert workers_using_the_store >= 2


@pytest.mark.redis
def test_two_gateway_instances_share_the_redis_store(sim, tmp_path, redis_url):
    env = gateway_env(sim, redis_url)
    with gunicorn_process(tmp_path, env, workers=1) as one, gunicorn_process(tmp_path, env, workers=1) as two:
        sim.push_faults("callnos", ["latency:1000"])
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(post, one.url, "across")
            _wait_until(lambda: sim.stats()["callnos"] == 1)
            in_flight = post(two.url, "across")
            first = pending.result()
        replay = post(two.url, "across")
        reused = post(two.url, "across", {**FETCH, "batch_size": 6})
    assert in_flight.status_code == 409 and in_flight.json()["code"] == "request_in_progress"
    assert first.status_code == 200
    assert replay.content == first.content and replay.headers["Idempotent-Replayed"] == "true"
    assert reused.status_code == 422
    assert sim.stats()["callnos"] == 1


def test_a_client_that_gave_up_waiting_gets_its_batch_on_retry(sim, tmp_path, store_url):
    with gunicorn_process(tmp_path, gateway_env(sim, store_url), workers=2) as gateway:
        sim.push_faults("callnos", ["latency:700"])
        with pytest.raises(requests.Timeout):
            post(gateway.url, "patient", timeout=0.2)
        answers = [post(gateway.url, "patient")]
        while answers[-1].status_code == 409:  # still in flight: retry later with the same key
            time.sleep(0.1)
            answers.append(post(gateway.url, "patient"))
    assert answers[-1].status_code == 200 and answers[-1].headers["Idempotent-Replayed"] == "true"
    assert len(answers) > 1  # the first retry came while the lost answer was still in flight
    received = [record["customer_id"] for record in answers[-1].json()["records"]]
    assert received == [customer_id(TASK, index) for index in range(1, FETCH["batch_size"] + 1)]
    assert (sim.stats()["callnos"], sim.stats()["records_out"]) == (1, FETCH["batch_size"])


def test_an_answer_stored_by_a_worker_that_died_before_sending_it_is_not_lost(sim, tmp_path, store_url):
    with gunicorn_process(tmp_path, gateway_env(sim, store_url), workers=1, command=CRASH_AFTER_STORE) as gateway:
        crashed_worker = worker_pids(gateway.process.pid)
        with pytest.raises(requests.ConnectionError):
            post(gateway.url, "survive")  # the worker exits after storing, before answering
        retry = _retry_until_answered(gateway.url, "survive")
        assert worker_pids(gateway.process.pid) != crashed_worker
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    received = [record["customer_id"] for record in retry.json()["records"]]
    taken = FETCH["batch_size"]
    assert received == [customer_id(TASK, index) for index in range(1, taken + 1)]
    assert (sim.stats()["callnos"], sim.stats()["records_out"]) == (1, taken)
    assert sim.remaining(*TASK) == sim.config.records_per_task - taken  # 0 records lost


def _retry_until_answered(url: str, key: str, timeout: float = 15.0) -> requests.Response:
    """Retry like a client would until the respawned worker answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return post(url, key)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _processes_with_open(path: Path, pids: list[int]) -> int:
    """How many of ``pids`` hold ``path`` open (Linux /proc)."""
    count = 0
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        targets = {os.path.realpath(fd_dir / fd) for fd in os.listdir(fd_dir)} if fd_dir.exists() else set()
        count += str(path.resolve()) in targets
    return count


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
