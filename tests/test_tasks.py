"""GET /v1/tasks (CONTRACT section 8): answer shapes, validation, the read retry rule, auth."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from conftest import login_settings, settings_for
from outbound import TASKS, get, problem_of
from callnos_gateway.simulator import Simulator, SimulatorConfig
from conftest import SIM_PASSWORD, SIM_USER


def test_the_simulator_s_tasks_are_listed_in_order(sim, client):
    answer = get(client, "/v1/tasks")
    assert answer.status_code == 200
    assert answer.json == {"tasks": [{"task_id": "1001"}, {"task_id": "1002"}, {"task_id": "4242"}], "count": 3}
    assert answer.headers["X-Request-ID"]
    assert sim.stats()["tasks"] == 1 and sim.stats()["callnos"] == 0


@pytest.mark.parametrize("result_data, ids", [
    ({"taskData": [{"serviceId": "12345"}, {"seviceId": "678"}]}, ["12345", "678"]),
    ({"taskData": [{"serviceId": 12345}, {"seviceId": 9, "extra": "x"}]}, ["12345", "9"]),
    ({"serviceId": 42}, ["42"]),
    ({"seviceId": "7"}, ["7"]),
    ({"taskData": {"serviceId": "5"}}, ["5"]),
    ({"taskData": []}, []),
    ({}, []),
    (None, []),
])
def test_every_answer_shape_lists_string_ids(httpserver: HTTPServer, gateway, result_data, ids):
    httpserver.expect_request(TASKS, method="POST", json={"subCCNo": 1, "vdnId": 1}).respond_with_json(
        {"result": "0", "resultData": result_data})
    answer = get(gateway(settings_for(httpserver.url_for("/"))), "/v1/tasks")
    assert answer.status_code == 200
    assert answer.json == {"tasks": [{"task_id": task_id} for task_id in ids], "count": len(ids)}


def test_the_ids_are_sent_as_integers_from_the_query(httpserver: HTTPServer, gateway):
    httpserver.expect_request(TASKS, json={"subCCNo": 3, "vdnId": 88}).respond_with_json(
        {"result": 0, "resultData": {"taskData": [{"serviceId": "1"}]}})
    answer = get(gateway(settings_for(httpserver.url_for("/"))), "/v1/tasks?call_center_id=3&vcc_id=88")
    assert answer.json["count"] == 1


@pytest.mark.parametrize("result_data", [
    {"taskData": [{"name": "no id"}]}, {"taskData": "none"}, {"taskData": [{"serviceId": True}]}, "tasks",
])
def test_an_answer_of_another_shape_is_upstream_bad_response(httpserver: HTTPServer, gateway, result_data):
    httpserver.expect_request(TASKS).respond_with_json({"result": 0, "resultData": result_data})
    body = problem_of(get(gateway(settings_for(httpserver.url_for("/"))), "/v1/tasks"))
    assert (body["status"], body["code"]) == (502, "upstream_bad_response")
    assert "may have been taken" not in body["detail"]


@pytest.mark.parametrize("query, field", [
    ("call_center_id=abc", "call_center_id"), ("call_center_id=-1", "call_center_id"),
    ("vcc_id=1.5", "vcc_id"), ("vcc_id=true", "vcc_id"), ("vcc_id=", "vcc_id"),
    ("call_center_id=2147483648", "call_center_id"), ("vcc_id=1&vcc_id=2", "vcc_id"), ("task=1", "task"),
])
def test_bad_query_parameters_are_400_naming_them_and_send_nothing(httpserver: HTTPServer, gateway, query, field):
    body = problem_of(get(gateway(settings_for(httpserver.url_for("/"))), f"/v1/tasks?{query}"))
    assert (body["status"], body["code"]) == (400, "invalid_request")
    assert field in body["errors"]
    assert len(httpserver.log) == 0


def test_without_a_configured_default_the_ids_are_required(httpserver: HTTPServer, gateway):
    client = gateway(settings_for(httpserver.url_for("/"), sub_cc_no=None, vdn_id=None))
    body = problem_of(get(client, "/v1/tasks"))
    assert set(body["errors"]) == {"call_center_id", "vcc_id"}
    assert len(httpserver.log) == 0


def test_without_a_key_it_is_401(sim, client):
    assert problem_of(get(client, "/v1/tasks", **{"X-API-Key": "wrong"}))["code"] == "unauthorized"
    assert sim.stats()["tasks"] == 0


@pytest.mark.parametrize("fault", ["status:500", "status:503", "timeout:2", "drop"])
def test_a_read_is_sent_once_more_after_a_5xx_a_read_timeout_or_a_lost_connection(sim, gateway, fault):
    client = gateway(login_settings(sim.url, read_timeout=0.3))
    sim.push_faults("tasks", [fault])
    answer = get(client, "/v1/tasks")
    assert answer.status_code == 200 and answer.json["count"] == 3
    assert sim.stats()["tasks"] == 2


def test_a_read_failing_twice_is_sent_exactly_twice(sim, gateway):
    client = gateway(login_settings(sim.url, read_timeout=0.3))
    sim.push_faults("tasks", ["status:502", "status:502"])
    body = problem_of(get(client, "/v1/tasks"))
    assert (body["status"], body["code"], body["upstream_status"]) == (502, "upstream_error", 502)
    sim.push_faults("tasks", ["timeout:2", "timeout:2"])
    body = problem_of(get(client, "/v1/tasks"))
    assert (body["status"], body["code"]) == (504, "upstream_timeout")
    assert "safe to retry" in body["detail"]
    assert sim.stats()["tasks"] == 4


def test_a_4xx_or_a_rejection_is_not_sent_again(sim, client):
    sim.push_faults("tasks", ["status:400", "result:0900001"])
    assert problem_of(get(client, "/v1/tasks"))["upstream_status"] == 400
    body = problem_of(get(client, "/v1/tasks"))
    assert (body["code"], body["upstream_result"]) == ("upstream_rejected", "0900001")
    assert sim.stats()["tasks"] == 2


def test_a_refused_token_is_replaced_and_the_read_sent_once_more(sim, client):
    assert get(client, "/v1/tasks").status_code == 200
    sim.push_faults("tasks", ["status:401"])
    assert get(client, "/v1/tasks").status_code == 200
    stats = sim.stats()
    assert (stats["tasks"], stats["login"] + stats["refresh"]) == (3, 2)


@pytest.mark.parametrize("mode", ["token", "refresh_token"])
def test_business_calls_carry_the_configured_kind_of_token(gateway, mode):
    config = SimulatorConfig(port=0, user=SIM_USER, password=SIM_PASSWORD, business_token=mode)
    with Simulator(config) as sim:
        client = gateway(login_settings(sim.url, business_token=mode))
        assert get(client, "/v1/tasks").status_code == 200
        sent = sim.stats()["last_headers_by_endpoint"]["tasks"]["authorization"].removeprefix("Bearer ")
        is_refresh = sim.state.tokens.refresh_ok(sent) and not sim.state.tokens.access_ok(sent)
        assert is_refresh == (mode == "refresh_token")


def test_the_wrong_kind_of_token_is_refused_after_one_renewal(gateway):
    config = SimulatorConfig(port=0, user=SIM_USER, password=SIM_PASSWORD, business_token="refresh_token")
    with Simulator(config) as sim:
        body = problem_of(get(gateway(login_settings(sim.url)), "/v1/tasks"))
        assert (body["status"], body["code"]) == (502, "upstream_auth_failed")
        assert sim.stats()["tasks"] == 2


def test_the_path_can_be_overridden(httpserver: HTTPServer, gateway):
    httpserver.expect_request("/iSales/getTask").respond_with_json({"result": 0, "resultData": {"serviceId": "3"}})
    client = gateway(settings_for(httpserver.url_for("/"), paths={"tasks": "/iSales/getTask"}))
    assert get(client, "/v1/tasks").json == {"tasks": [{"task_id": "3"}], "count": 1}


def test_a_read_is_not_sent_again_when_the_login_used_up_its_time(sim, gateway):
    client = gateway(login_settings(sim.url, read_timeout=0.3, total_timeout=0.4))
    sim.push_faults("login", ["latency:200"])
    sim.push_faults("tasks", ["timeout:2"])
    body = problem_of(get(client, "/v1/tasks"))
    assert (body["status"], body["code"]) == (504, "upstream_timeout")
    assert sim.stats()["tasks"] == 1  # login 0.2 s + first try 0.3 s > 0.4 s: a second try could outlast the worker
    roomier = gateway(login_settings(sim.url, read_timeout=0.3, total_timeout=1.0))
    sim.push_faults("login", ["latency:200"])
    sim.push_faults("tasks", ["timeout:2"])
    assert get(roomier, "/v1/tasks").status_code == 200  # 0.5 s used of 1 s: time for the second try
    assert sim.stats()["tasks"] == 3


@pytest.mark.parametrize("route, endpoint", [
    ("/v1/tasks", "tasks"), ("/v1/holidays/7", "isholiday"),
    ("/v1/call-results", "result"), ("/v1/call-results/intermediate", "midresult"),
])
def test_every_outbound_route_forwards_the_request_id_and_never_the_inbound_key(sim, client, route, endpoint):
    from outbound import record_of

    [record] = record_of(sim, client)
    headers = {"X-API-Key": "test-key-3f9a1c", "X-Request-ID": f"dialer-{endpoint}-1", "Cookie": "session=abc"}
    body = {"task_id": record["task_id"], "customer_id": record["customer_id"]}
    answer = client.post(route, json=body, headers=headers) if "results" in route else client.get(route, headers=headers)
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == f"dialer-{endpoint}-1"
    sent = sim.stats()["last_headers_by_endpoint"][endpoint]
    assert sent["x-request-id"] == f"dialer-{endpoint}-1"
    assert "x-api-key" not in sent and "cookie" not in sent and "test-key-3f9a1c" not in str(sent)
