"""The ledger with real processes: a dialer killed mid-work, claims raced across workers and instances.

- The crash story: a dialer process takes batches through gunicorn and is
  killed (SIGKILL) before writing a result; a second one claims what is
  stale and results every record. The simulator must see each record
  resulted exactly once, and the ledger must end empty.
- Claims under contention: 8 threads over 2 gunicorn workers (SQLite), and
  over two gateway instances on one real redis-server: no record is claimed
  twice, none is missed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from servers import gunicorn_process, simulator_process

USER, PASSWORD = "ledger-user", "ledger-pa55word-61"
API_KEY = "ledger-key-5e0b"
DIALER = Path(__file__).with_name("ledger_dialer.py")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    args = ("--user", USER, "--password", PASSWORD, "--tasks", "601,602,603")
    with simulator_process(tmp_path_factory.mktemp("sim"), *args) as running:
        yield running


def gateway_env(sim, **extra: str) -> dict[str, str]:
    return {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": USER, "CALLNOS_PASSWORD": PASSWORD,
            "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
            "CALLNOS_READ_TIMEOUT": "5", **extra}


def call(method: str, url: str, **kwargs) -> requests.Response:
    return requests.request(method, url, headers={"X-API-Key": API_KEY}, timeout=30, **kwargs)


def task_stats(sim, task: str) -> dict:
    stats = requests.get(sim.url + "/_sim/stats", timeout=5).json()
    (found,) = [value for name, value in stats["per_task"].items() if name.endswith(":" + task)]
    return {**found, "duplicates_total": stats["duplicates"]}


def test_the_crash_story_every_record_resulted_exactly_once(sim, tmp_path, record_property):
    with gunicorn_process(tmp_path, gateway_env(sim)) as gateway:
        first = subprocess.Popen([sys.executable, str(DIALER), "take", gateway.url, API_KEY, "601", "5", "20"],
                                 stdout=subprocess.PIPE, text=True)
        taken = json.loads(first.stdout.readline())["taken"]
        first.send_signal(signal.SIGKILL)
        first.wait()
        listed = call("GET", gateway.url + "/v1/outstanding", params={"task_id": "601", "limit": 1000}).json()
        assert sorted(r["customer_id"] for r in listed["records"]) == sorted(taken)
        second = subprocess.run([sys.executable, str(DIALER), "recover", gateway.url, API_KEY, "601"],
                                capture_output=True, text=True, timeout=120, check=True)
        recovered = json.loads(second.stdout)
        left = call("GET", gateway.url + "/v1/outstanding").json()
    stats = task_stats(sim, "601")
    numbers = {"taken": len(taken), "claimed": len(recovered["claimed"]), "resulted": recovered["resulted"],
               "duplicates": stats["duplicates"], "waiting_upstream": stats["waiting"], "left_open": left["count"]}
    record_property("crash_story", numbers)
    print("crash story:", numbers)
    assert len(taken) == 100 and sorted(recovered["claimed"]) == sorted(taken)
    assert numbers == {"taken": 100, "claimed": 100, "resulted": 100, "duplicates": 0, "waiting_upstream": 0,
                       "left_open": 0}
    assert stats["final_results"] == 100 and left["unknown_batches"] == []


STALE = 3.0  # older_than of the race: a claimed record is claimable again only this long after


def race_claims(urls: list[str], task: str, threads: int = 8) -> list[str]:
    """``threads`` claimers spread over ``urls`` until nothing is left; every customer they got.

    Called ``STALE`` seconds after the records were taken; the race lasts far
    less, so a record claimed twice is a broken hand-over, not a second round.
    """
    time.sleep(STALE + 0.2)

    def claimer(number: int) -> list[str]:
        mine, url = [], urls[number % len(urls)]
        while batch := call("POST", url + "/v1/outstanding/claim",
                            json={"task_id": int(task), "older_than": STALE, "limit": 7}).json()["records"]:
            mine += [record["customer_id"] for record in batch]
        return mine

    with ThreadPoolExecutor(threads) as pool:
        return [customer for mine in pool.map(claimer, range(threads)) for customer in mine]


def take(url: str, task: str, batches: int, size: int) -> list[str]:
    customers = []
    for _ in range(batches):
        answer = call("POST", url + "/v1/call-data", json={"task_id": int(task), "batch_size": size})
        customers += [r["customer_id"] for r in answer.json()["records"]]
    return customers


def test_claims_raced_by_8_threads_over_2_workers_hand_each_record_once(sim, tmp_path):
    with gunicorn_process(tmp_path, gateway_env(sim), workers=2) as gateway:
        taken = take(gateway.url, "602", 10, 20)
        claimed = race_claims([gateway.url], "602")
    assert len(claimed) == len(set(claimed)) == 200  # none twice
    assert sorted(claimed) == sorted(taken)  # none missed


def test_claims_raced_over_two_instances_on_one_redis_hand_each_record_once(sim, tmp_path, redis_url):
    env = gateway_env(sim, CALLNOS_LEDGER_URL=redis_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with gunicorn_process(tmp_path / "a", env) as first, gunicorn_process(tmp_path / "b", env) as second:
        taken = take(first.url, "603", 5, 20) + take(second.url, "603", 5, 20)
        claimed = race_claims([first.url, second.url], "603")
        left = call("GET", second.url + "/v1/outstanding", params={"task_id": "603", "older_than": 3600}).json()
    assert len(claimed) == len(set(claimed)) == 200
    assert sorted(claimed) == sorted(taken) and left["count"] == 0
