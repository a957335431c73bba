"""The authorisation step of every /v1 route: client, route, task (CONTRACT 3, 10).

Real HTTP to the simulator; "nothing sent upstream" is its own count of
requests received, which must not move on a refusal.
"""

from __future__ import annotations

import hashlib
import logging

import pytest
from flask import Flask

from callnos_gateway.settings.clients import Client, key_digest
from callnos_gateway.app import create_app
from conftest import API_KEY, FETCH, login_settings
from callnos_gateway.errors import Forbidden
from callnos_gateway.api.authorise import require_task, visible_tasks
from callnos_gateway.api.routes import route_for, route_pattern

EAST_KEY, EAST_NEW_KEY, READER_KEY, ALL_KEY = ("east-key-5b1e0f2c9a", "east-key-new-77d0c1",
                                               "reader-key-a83b21", "all-key-f0e9d8")
CLIENTS = (
    Client("dialer-east", key_digest(EAST_KEY), tasks=frozenset({"1001", "1002"})),
    Client("dialer-east", key_digest(EAST_NEW_KEY), tasks=frozenset({"1001", "1002"})),
    Client("reporting", key_digest(READER_KEY), tasks=None, allow=frozenset({"tasks", "holidays"})),
    Client("everything", key_digest(ALL_KEY), tasks=None),
)


def upstream_requests(sim) -> int:
    """Every request the simulator received, whatever its endpoint."""
    stats = sim.stats()
    return sum(value for value in stats.values() if isinstance(value, int))


@pytest.fixture
def app(sim, tmp_path) -> Flask:
    store = f"sqlite:///{tmp_path}/idempotency.sqlite3"  # fresh per test: no replay from an earlier run
    return create_app(login_settings(sim.url, api_keys=(), clients=CLIENTS, idempotency_url=store))


@pytest.fixture
def client(app):
    return app.test_client()


def fetch(client, key: str, body: object = None, **headers: str):
    return client.post("/v1/call-data", json=FETCH if body is None else body, headers={"X-API-Key": key, **headers})


def assert_forbidden(answer, missing: str) -> None:
    assert answer.status_code == 403
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == "forbidden" and answer.json["missing_scope"] == missing
    assert answer.json["request_id"] and "WWW-Authenticate" not in answer.headers


def test_a_task_in_scope_is_served(client, sim):
    answer = fetch(client, EAST_KEY, {"task_id": 1002, "batch_size": 2})
    assert answer.status_code == 200 and answer.json["count"] == 2
    assert sim.stats()["by_task"] == {"1:1:1002": 2}


@pytest.mark.parametrize("task_id", [1003, 0, 10010, 100, 2**31 - 1])
def test_another_task_is_403_and_nothing_is_sent_upstream(client, sim, task_id):
    before = upstream_requests(sim)
    answer = fetch(client, EAST_KEY, {"task_id": task_id, "batch_size": 2})
    assert_forbidden(answer, "tasks")
    assert answer.json["task_id"] == str(task_id)
    assert upstream_requests(sim) == before == 0


@pytest.mark.parametrize("task_id", ["1001", 1001.0, True, None, [1001], {"id": 1001}])
def test_a_task_id_of_the_wrong_type_never_reaches_the_upstream(client, sim, task_id):
    answer = fetch(client, EAST_KEY, {"task_id": task_id, "batch_size": 2})
    assert answer.status_code in (400, 403)  # a string "1001" is in scope but invalid for call-data: 400
    assert upstream_requests(sim) == 0


def test_a_body_without_a_task_id_is_left_to_validation(client, sim):
    answer = fetch(client, EAST_KEY, {"batch_size": 2})
    assert answer.status_code == 400 and "task_id" in answer.json["errors"]
    answer = client.post("/v1/call-data", data=b"{not json", headers={"X-API-Key": EAST_KEY,
                                                                      "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json["code"] == "invalid_request"
    assert upstream_requests(sim) == 0


def test_a_route_not_allowed_is_403_naming_its_scope(client, sim):
    answer = fetch(client, READER_KEY, {"task_id": 1001, "batch_size": 2})
    assert_forbidden(answer, "call-data")
    assert "call-data" in answer.json["detail"]
    assert upstream_requests(sim) == 0


def test_star_means_every_task(client, sim):
    for task_id in (1001, 5, 424242):
        assert fetch(client, ALL_KEY, {"task_id": task_id, "batch_size": 1}).status_code == 200


def test_two_keys_of_one_name_both_work(client):
    assert fetch(client, EAST_KEY).status_code == 200
    assert fetch(client, EAST_NEW_KEY).status_code == 200


@pytest.mark.parametrize("key", [
    EAST_KEY[:-1] + "b",                       # one character off
    EAST_KEY[:-1],                             # one character short
    EAST_KEY + "0",                            # one character long
    EAST_KEY.upper(),
    hashlib.sha256(EAST_KEY.encode()).hexdigest(),   # the digest given as the key
    hashlib.sha256(EAST_KEY.encode()).hexdigest().upper(),
    EAST_KEY * 500,                            # very long
    "x" * 8000,
    "éast-key-5b1e0f2c9a",                     # non-ASCII
    EAST_KEY + "\u00a0",
    "",
])
def test_hostile_keys_are_401_and_say_nothing_of_the_real_ones(client, sim, key):
    answer = fetch(client, key)
    assert answer.status_code == 401 and answer.json["code"] == "unauthorized"
    assert answer.json["detail"] in ("The X-API-Key is not valid.", "Send a valid key in the X-API-Key header.")
    assert "dialer" not in answer.get_data(as_text=True)
    assert upstream_requests(sim) == 0


def test_a_refusal_happens_before_validation_and_idempotency(client, sim):
    answer = fetch(client, EAST_KEY, {"task_id": 7, "batch_size": 0}, **{"Idempotency-Key": "k-1"})
    assert_forbidden(answer, "tasks")
    # the key was not taken: the same key, in scope, is answered for real
    assert fetch(client, EAST_KEY, {"task_id": 1001, "batch_size": 1}, **{"Idempotency-Key": "k-1"}).status_code == 200


def test_idempotency_keys_stay_scoped_per_key_not_per_name(client):
    body, headers = {"task_id": 1001, "batch_size": 1}, {"Idempotency-Key": "same-key"}
    first = fetch(client, EAST_KEY, body, **headers)
    second = fetch(client, EAST_NEW_KEY, body, **headers)
    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers and first.json["batch_id"] != second.json["batch_id"]


def test_an_unmapped_v1_route_is_refused_not_allowed(sim):
    app = create_app(login_settings(sim.url, api_keys=(), clients=CLIENTS))
    app.add_url_rule("/v1/new-thing", "new_thing", lambda: "served")
    client = app.test_client()
    assert_forbidden(client.get("/v1/new-thing", headers={"X-API-Key": ALL_KEY}), "route")
    assert client.get("/v1/new-thing").status_code == 401  # still a key first


def test_every_v1_route_of_the_app_has_a_scope(app):
    rules = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/")]
    assert rules and all(route_for(rule) is not None for rule in rules), rules


@pytest.mark.parametrize("rule, pattern", [
    ("/v1/holidays/<holiday_id>", "/v1/holidays/<holiday_id>"),
    ("/v1/holidays/<string:holiday_id>", "/v1/holidays/<holiday_id>"),
    ("/v1/holidays/<string(length=8):holiday_id>", "/v1/holidays/<holiday_id>"),
    ("/v1/call-data", "/v1/call-data"),
])
def test_route_patterns_ignore_converters(rule, pattern):
    assert route_pattern(rule) == pattern


def test_api_keys_without_a_file_keep_every_scope(sim, gateway):
    client = gateway(login_settings(sim.url))
    for task_id in (1001, 77):
        assert fetch(client, API_KEY, {"task_id": task_id, "batch_size": 1}).status_code == 200


def test_anonymous_mode_keeps_every_scope(sim, gateway):
    client = gateway(login_settings(sim.url, api_keys=(), allow_anonymous=True))
    assert client.post("/v1/call-data", json={"task_id": 55, "batch_size": 1}).status_code == 200


def test_the_access_line_names_the_client_and_holds_no_key_or_digest(client, caplog):
    caplog.set_level(logging.DEBUG)
    fetch(client, EAST_KEY)
    fetch(client, EAST_KEY, {"task_id": 9, "batch_size": 1})
    fetch(client, EAST_KEY + "x")
    ok, refused, unknown = [r for r in caplog.records if r.name == "callnos.access"]
    assert (ok.status, ok.client) == (200, "dialer-east")
    assert (refused.status, refused.code, refused.client) == (403, "forbidden", "dialer-east")
    assert (unknown.status, unknown.client) == (401, None)
    secrets = [EAST_KEY, *(c.digest.hex() for c in CLIENTS), *(c.digest.hex()[:12] for c in CLIENTS)]
    for record in caplog.records:
        text = str(vars(record))
        assert not [secret for secret in secrets if secret in text or secret.upper() in text]


def test_metrics_count_requests_by_client_name(client):
    def count(text: str, client_label: str, status: str) -> float:
        prefix = "callnos_gateway_requests_total{"
        for line in text.splitlines():
            if (line.startswith(prefix) and f'client="{client_label}"' in line and f'status="{status}"' in line
                    and 'route="/v1/call-data"' in line):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = client.get("/metrics").get_data(as_text=True)
    fetch(client, EAST_KEY)
    fetch(client, EAST_NEW_KEY, {"task_id": 9, "batch_size": 1})
    fetch(client, "stranger-key-123456")
    after = client.get("/metrics").get_data(as_text=True)
    assert count(after, "dialer-east", "200") - count(before, "dialer-east", "200") == 1
    assert count(after, "dialer-east", "403") - count(before, "dialer-east", "403") == 1
    assert count(after, "none", "401") - count(before, "none", "401") == 1
    assert "stranger" not in after and not [c for c in CLIENTS if c.digest.hex()[:8] in after]


def test_the_view_helpers_follow_the_client_of_the_request(app):
    with app.test_request_context("/v1/call-data", method="POST", headers={"X-API-Key": EAST_KEY}):
        assert visible_tasks(["1003", "1002", "1001"]) == []  # no client identified yet: nothing is visible
        with pytest.raises(Forbidden):
            require_task("1001")
        app.preprocess_request()
        assert visible_tasks(["1003", "1002", "1001"]) == ["1002", "1001"]
        require_task(1001)
        require_task("1002")
        with pytest.raises(Forbidden) as refused:
            require_task("10010")
        assert refused.value.extra == {"missing_scope": "tasks", "task_id": "10010"}


def test_the_openapi_document_describes_the_403(client):
    spec = client.get("/openapi.json").json
    assert "403" in spec["paths"]["/v1/call-data"]["post"]["responses"]
    assert {"missing_scope", "task_id"} <= set(spec["components"]["schemas"]["Problem"]["properties"])
