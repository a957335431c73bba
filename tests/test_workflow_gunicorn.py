"""A dialer's whole loop through the gateway under gunicorn, against the simulator as a process.

List the tasks, check a holiday rule, fetch three batches, write an
intermediate and a final result for every record (with Idempotency-Key, one
retry each): the simulator must end with no record waiting for a result and
no duplicate write, and the gateway's metrics and access lines must show
every route.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from servers import gunicorn_process, json_lines, simulator_process

USER, PASSWORD = "loop-user", "loop-pa55word-2b71"
API_KEY = "loop-key-90c1de"
BATCH = 20


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    args = ("--user", USER, "--password", PASSWORD, "--tasks", "501,502", "--holidays", "9")
    with simulator_process(tmp_path_factory.mktemp("sim"), *args) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(sim, tmp_path_factory):
    env = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": USER, "CALLNOS_PASSWORD": PASSWORD,
           "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
           "CALLNOS_READ_TIMEOUT": "5", "CALLNOS_TIME_ZONE": "Asia/Shanghai",
           "CALLNOS_IDEMPOTENCY_URL": f"sqlite:///{tmp_path_factory.mktemp('idem')}/keys.sqlite3"}
    with gunicorn_process(tmp_path_factory.mktemp("gunicorn"), env) as running:
        yield running


def call(method: str, url: str, **kwargs) -> requests.Response:
    headers = {"X-API-Key": API_KEY, "Connection": "close", **kwargs.pop("headers", {})}
    return requests.request(method, url, headers=headers, timeout=15, **kwargs)


def write_twice(gateway, record: dict, final: bool) -> tuple[int, int]:
    """Write a result, then retry it with the same Idempotency-Key, as a client that lost the answer would."""
    path = "/v1/call-results" if final else "/v1/call-results/intermediate"
    body = {"task_id": record["task_id"], "customer_id": record["customer_id"], "status": "0" if final else "1",
            "call_started_at": "2026-03-01T09:31:05+01:00", "call_ended_at": "2026-03-01T09:33:40+01:00"}
    key = {"Idempotency-Key": f"{path}-{record['customer_id']}"}
    first = call("POST", gateway.url + path, json=body, headers=key)
    again = call("POST", gateway.url + path, json=body, headers=key)
    assert again.content == first.content and again.headers.get("Idempotent-Replayed") == "true"
    return first.status_code, again.status_code


@pytest.fixture(scope="module")
def loop(gateway, sim):
    tasks = call("GET", gateway.url + "/v1/tasks").json()
    holiday = call("GET", gateway.url + "/v1/holidays/9").json()
    records = []
    for batch in range(3):
        task_id = int(tasks["tasks"][batch % tasks["count"]]["task_id"])
        answer = call("POST", gateway.url + "/v1/call-data", json={"task_id": task_id, "batch_size": BATCH})
        records += answer.json()["records"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda r: write_twice(gateway, r, final=False), records))
        statuses += list(pool.map(lambda r: write_twice(gateway, r, final=True), records))
    stats = requests.get(sim.url + "/_sim/stats", timeout=5).json()
    return {"tasks": tasks, "holiday": holiday, "records": records, "statuses": statuses, "stats": stats}


def test_the_loop_leaves_no_record_waiting_and_no_duplicate(loop):
    assert loop["tasks"] == {"tasks": [{"task_id": "501"}, {"task_id": "502"}], "count": 2}
    assert loop["holiday"] == {"holiday_id": "9", "is_holiday": True}
    assert len(loop["records"]) == 3 * BATCH
    assert set(loop["statuses"]) == {(200, 200)}
    stats = loop["stats"]
    assert stats["per_task"] == {
        "1:1:501": {"taken": 2 * BATCH, "final_results": 2 * BATCH, "waiting": 0, "duplicates": 0},
        "1:1:502": {"taken": BATCH, "final_results": BATCH, "waiting": 0, "duplicates": 0},
    }
    assert (stats["duplicates"], stats["result_ok"], stats["midresult_ok"], stats["writes_refused"]) == (
        0, 3 * BATCH, 3 * BATCH, 0)
    assert {write["endCallTime"] for write in stats["last_writes"]} == {"2026-03-01 16:33:40"}


def test_metrics_and_access_lines_show_every_route(loop, gateway):
    text = requests.get(gateway.url + "/metrics", timeout=5).text
    served = {(s.labels["route"], s.labels["status"]): s.value for family in text_string_to_metric_families(text)
              for s in family.samples if s.name == "callnos_gateway_requests_total"}
    assert served[("/v1/tasks", "200")] >= 1 and served[("/v1/holidays/<holiday_id>", "200")] >= 1
    assert served[("/v1/call-results", "200")] == served[("/v1/call-results/intermediate", "200")] == 2 * 3 * BATCH
    access = [line for line in json_lines(gateway.log()) if line.get("logger") == "callnos.access"]
    writes = [line for line in access if line["path"] == "/v1/call-results"]
    assert len(writes) == 2 * 3 * BATCH
    assert sum(line["replayed"] for line in writes) == 3 * BATCH
    assert all(line["upstream_status"] == 200 for line in writes if not line["replayed"])
    assert all(line["request_id"] for line in access)


def test_an_unknown_record_is_refused_through_the_gateway(loop, gateway):
    body = {"task_id": "501", "customer_id": f"C-501-{uuid.uuid4().int % 10**9:09d}"}
    answer = call("POST", gateway.url + "/v1/call-results", json=body)
    assert answer.status_code == 502 and answer.json()["code"] == "upstream_rejected"
