"""Scopes on the workflow routes: tasks filtered, holidays allowed or not, results per task (CONTRACT 8, 10).

The simulator lists tasks 1001, 1002 and 4242, and refuses a result for a
record it never handed out; "nothing sent upstream" is its whole request count.
"""

from __future__ import annotations

import pytest

from callnos_gateway.settings.clients import Client, key_digest
from callnos_gateway.app import create_app
from callnos_gateway.api.routes import ROUTES
from conftest import login_settings

EAST, ALL, READER, FETCHER = "east-key-5b1e0f2c9a", "all-key-f0e9d8c7b6", "reader-key-a83b21", "fetcher-key-19c7e5"
CLIENTS = (
    Client("dialer-east", key_digest(EAST), tasks=frozenset({"1001", "1002"})),
    Client("everything", key_digest(ALL), tasks=None),
    Client("reporting", key_digest(READER), tasks=None, allow=frozenset({"tasks", "holidays"})),
    Client("fetcher", key_digest(FETCHER), tasks=frozenset({"1001"}), allow=frozenset({"call-data"})),
)
RESULT_ROUTES = ("/v1/call-results", "/v1/call-results/intermediate")


def upstream_requests(sim) -> int:
    """Every request the simulator received (and all it counted), whatever the endpoint."""
    return sum(value for value in sim.stats().values() if isinstance(value, int))


@pytest.fixture
def client(sim, tmp_path):
    store = f"sqlite:///{tmp_path}/idempotency.sqlite3"
    return create_app(login_settings(sim.url, api_keys=(), clients=CLIENTS, idempotency_url=store)).test_client()


def get(client, path: str, key: str):
    return client.get(path, headers={"X-API-Key": key})


def post(client, path: str, key: str, body: dict, **headers: str):
    return client.post(path, json=body, headers={"X-API-Key": key, **headers})


def customer_of(client, key: str, task_id: int) -> str:
    """A record the simulator handed out, fetched through the gateway with ``key``."""
    answer = post(client, "/v1/call-data", key, {"task_id": task_id, "batch_size": 1})
    assert answer.status_code == 200
    return answer.json["records"][0]["customer_id"]


def assert_forbidden(answer, missing: str) -> dict:
    assert (answer.status_code, answer.mimetype) == (403, "application/problem+json")
    assert answer.json["code"] == "forbidden" and answer.json["missing_scope"] == missing
    return answer.json


def test_the_tasks_list_shows_only_the_clients_tasks(client, sim):
    answer = get(client, "/v1/tasks", EAST)
    assert (answer.status_code, answer.json) == (200, {"tasks": [{"task_id": "1001"}, {"task_id": "1002"}], "count": 2})


def test_star_sees_every_task(client):
    assert get(client, "/v1/tasks", ALL).json["count"] == 3
    assert [task["task_id"] for task in get(client, "/v1/tasks", READER).json["tasks"]] == ["1001", "1002", "4242"]


def test_the_tasks_route_needs_its_allow_word(client, sim):
    assert_forbidden(get(client, "/v1/tasks", FETCHER), "tasks")
    assert upstream_requests(sim) == 0


def test_holidays_follow_the_allow_list(client, sim):
    assert get(client, "/v1/holidays/7", READER).json == {"holiday_id": "7", "is_holiday": True}
    assert get(client, "/v1/holidays/7", EAST).status_code == 200  # allow defaults to all four
    before = upstream_requests(sim)
    assert_forbidden(get(client, "/v1/holidays/7", FETCHER), "holidays")
    assert upstream_requests(sim) == before


@pytest.mark.parametrize("route", RESULT_ROUTES)
def test_a_result_for_a_task_in_scope_is_written(client, sim, route):
    customer = customer_of(client, EAST, 1001)
    answer = post(client, route, EAST, {"task_id": "1001", "customer_id": customer, "status": "0"})
    assert (answer.status_code, answer.json) == (200, {"written": True, "task_id": "1001", "customer_id": customer})


@pytest.mark.parametrize("route", RESULT_ROUTES)
def test_a_result_for_another_task_is_403_and_nothing_is_written(client, sim, route):
    customer = customer_of(client, ALL, 4242)  # a real record of task 4242, fetched by another client
    before = sim.stats()
    problem = assert_forbidden(post(client, route, EAST, {"task_id": "4242", "customer_id": customer}), "tasks")
    assert problem["task_id"] == "4242"
    after = sim.stats()
    assert upstream_requests(sim) == sum(v for v in before.values() if isinstance(v, int))
    assert (after["result"], after["midresult"], after["last_writes"]) == (before["result"], before["midresult"],
                                                                           before["last_writes"])


@pytest.mark.parametrize("route", RESULT_ROUTES)
def test_the_results_routes_need_their_allow_word(client, sim, route):
    assert_forbidden(post(client, route, READER, {"task_id": "1001", "customer_id": "C-1"}), "results")
    assert_forbidden(post(client, route, FETCHER, {"task_id": "1001", "customer_id": "C-1"}), "results")
    assert upstream_requests(sim) == 0


@pytest.mark.parametrize("task_id", ["01001", "1001 ", 4242, ["1001"], None])
def test_a_results_task_id_outside_the_scope_or_malformed_never_reaches_the_upstream(client, sim, task_id):
    answer = post(client, "/v1/call-results", EAST, {"task_id": task_id, "customer_id": "C-1"})
    assert answer.status_code in (400, 403)
    assert upstream_requests(sim) == 0


def test_an_integer_task_id_in_scope_is_still_a_400_on_results(client, sim):
    answer = post(client, "/v1/call-results", EAST, {"task_id": 1001, "customer_id": "C-1"})
    assert answer.status_code == 400 and "task_id" in answer.json["errors"]
    assert upstream_requests(sim) == 0


def test_a_refused_write_back_takes_no_idempotency_key(client, sim):
    customer = customer_of(client, EAST, 1002)
    headers = {"Idempotency-Key": "write-1"}
    assert_forbidden(post(client, "/v1/call-results", EAST, {"task_id": "4242", "customer_id": customer}, **headers),
                     "tasks")
    answer = post(client, "/v1/call-results", EAST, {"task_id": "1002", "customer_id": customer}, **headers)
    assert answer.status_code == 200 and "Idempotent-Replayed" not in answer.headers


def test_the_openapi_document_lists_the_403_on_every_v1_route(client):
    paths = client.get("/openapi.json").json["paths"]
    v1 = {(path, method): entry for path, item in paths.items() if path.startswith("/v1/")
          for method, entry in item.items() if method in ("get", "post")}
    assert len(v1) == len(ROUTES) == 7 and all("403" in entry["responses"] for entry in v1.values()), sorted(v1)
