"""POST /v1/call-results and /intermediate (CONTRACT section 8): mapping, validation, the never-resend rule."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from conftest import login_settings, settings_for
from outbound import MIDRESULT, RESULT, problem_of, record_of, write

MINIMAL = {"task_id": "1001", "customer_id": "C-1001-000001"}
FULL = {
    **MINIMAL, "call_center_id": 3, "vcc_id": 88, "status": "2", "device_type": 5, "phone_number": "13800138000",
    "fail_code": "00603", "asr_result": "busy", "call_id": "call-77",
    "fetched_at": "2026-07-01T12:00:00Z", "call_started_at": "2026-07-01T14:05:06+02:00",
    "call_ended_at": "2026-01-15T23:59:59.900-05:00",
}
MAY_BE_WRITTEN = "may have been written"
OK = {"result": 0}
MISSING = object()


def upstream_of(body: dict) -> dict:
    return {"subCCNo": 1, "vdnId": 1, "serviceId": body["task_id"], "uniqueId": body["customer_id"]}


@pytest.mark.parametrize("final, path", [(True, RESULT), (False, MIDRESULT)])
def test_every_field_is_mapped_and_times_converted_to_the_configured_zone(httpserver: HTTPServer, gateway, final, path):
    httpserver.expect_request(path, method="POST", json={
        "subCCNo": 3, "vdnId": 88, "serviceId": "1001", "uniqueId": "C-1001-000001", "status": "2", "deviceType": 5,
        "phoneNumber": "13800138000", "failCode": "00603", "asrResult": "busy", "callId": "call-77",
        "fetchTime": "2026-07-01 08:00:00", "writeStartTime": "2026-07-01 08:05:06", "endCallTime": "2026-01-15 23:59:59",
    }).respond_with_json(OK)
    client = gateway(settings_for(httpserver.url_for("/"), time_zone="America/New_York"))  # EDT in July, EST in January
    answer = write(client, FULL, final=final)
    assert (answer.status_code, answer.json) == (200, {"written": True, "task_id": "1001", "customer_id": "C-1001-000001"})
    assert len(httpserver.log) == 1


def test_the_time_format_is_configurable(httpserver: HTTPServer, gateway):
    httpserver.expect_request(RESULT, json={**upstream_of(MINIMAL), "endCallTime": "20260301T173340+0800"}).respond_with_json(OK)
    client = gateway(settings_for(httpserver.url_for("/"), time_zone="Asia/Shanghai", time_format="%Y%m%dT%H%M%S%z"))
    assert write(client, {**MINIMAL, "call_ended_at": "2026-03-01T09:33:40Z"}).status_code == 200


def test_optional_fields_left_out_are_not_sent(httpserver: HTTPServer, gateway):
    httpserver.expect_request(RESULT, json=upstream_of(MINIMAL)).respond_with_json(OK)
    assert write(gateway(settings_for(httpserver.url_for("/"))), MINIMAL).status_code == 200


@pytest.mark.parametrize("change, field", [
    ({"task_id": MISSING}, "task_id"), ({"customer_id": MISSING}, "customer_id"), ({"task_id": None}, "task_id"),
    ({"task_id": 1001}, "task_id"), ({"customer_id": ""}, "customer_id"),
    ({"status": "x" * 257}, "status"), ({"phone_number": None}, "phone_number"), ({"fail_code": 603}, "fail_code"),
    ({"asr_result": ["a"]}, "asr_result"), ({"call_id": ""}, "call_id"), ({"extra": "x"}, "extra"),
    ({"call_center_id": True}, "call_center_id"), ({"vcc_id": "1"}, "vcc_id"), ({"call_center_id": -1}, "call_center_id"),
    ({"device_type": 1.5}, "device_type"), ({"device_type": 2**31}, "device_type"),
    ({"fetched_at": "2026-03-01T09:30:00"}, "fetched_at"), ({"call_started_at": "yesterday"}, "call_started_at"),
    ({"call_ended_at": 1772357620}, "call_ended_at"), ({"call_ended_at": "2026-02-30T10:00:00Z"}, "call_ended_at"),
])
@pytest.mark.parametrize("final", [True, False])
def test_each_invalid_field_is_400_naming_it_and_sends_nothing(httpserver: HTTPServer, gateway, change, field, final):
    body = {key: value for key, value in {**MINIMAL, **change}.items() if value is not MISSING}
    problem = problem_of(write(gateway(settings_for(httpserver.url_for("/"))), body, final=final))
    assert (problem["status"], problem["code"]) == (400, "invalid_request")
    assert field in problem["errors"]
    assert len(httpserver.log) == 0


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(httpserver: HTTPServer, gateway, raw):
    client = gateway(settings_for(httpserver.url_for("/")))
    answer = client.post("/v1/call-results", data=raw, content_type="application/json", headers={"X-API-Key": "test-key-3f9a1c"})
    assert problem_of(answer)["code"] == "invalid_request"
    assert len(httpserver.log) == 0


def test_without_configured_defaults_the_ids_are_required(httpserver: HTTPServer, gateway):
    client = gateway(settings_for(httpserver.url_for("/"), sub_cc_no=None, vdn_id=None))
    assert set(problem_of(write(client, MINIMAL))["errors"]) == {"call_center_id", "vcc_id"}
    assert len(httpserver.log) == 0


@pytest.mark.parametrize("final", [True, False])
def test_a_record_that_was_handed_out_is_written_once(sim, client, final):
    [record] = record_of(sim, client)
    answer = write(client, {"task_id": record["task_id"], "customer_id": record["customer_id"], "status": "0"}, final)
    assert answer.status_code == 200
    stats = sim.stats()
    endpoint = "result" if final else "midresult"
    assert (stats[endpoint], stats[endpoint + "_ok"], stats["duplicates"]) == (1, 1, 0)
    assert stats["per_task"]["1:1:1001"]["waiting"] == (0 if final else 1)


def test_a_non_zero_result_is_upstream_rejected_sent_once(sim, client):
    problem = problem_of(write(client, {"task_id": "1001", "customer_id": "C-1001-000999"}))
    assert (problem["status"], problem["code"], problem["upstream_result"]) == (502, "upstream_rejected", "0300001")
    assert "never handed out" in problem["upstream_message"]
    assert sim.stats()["result"] == 1


@pytest.mark.parametrize("final", [True, False])
@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_is_upstream_error_sent_once(sim, client, final, status):
    [record] = record_of(sim, client)
    sim.push_faults("result" if final else "midresult", [f"status:{status}"])
    problem = problem_of(write(client, {"task_id": "1001", "customer_id": record["customer_id"]}, final))
    assert (problem["status"], problem["code"], problem["upstream_status"]) == (502, "upstream_error", status)
    assert MAY_BE_WRITTEN in problem["detail"]  # the simulator, like a real upstream may, wrote it before failing
    assert sim.stats()["result" if final else "midresult"] == 1


@pytest.mark.parametrize("final", [True, False])
def test_a_read_timeout_is_504_written_exactly_once_and_says_it_may_be_written(sim, gateway, final):
    client = gateway(login_settings(sim.url, read_timeout=0.3))
    [record] = record_of(sim, client)
    endpoint = "result" if final else "midresult"
    sim.push_faults(endpoint, ["timeout:2"])
    problem = problem_of(write(client, {"task_id": "1001", "customer_id": record["customer_id"]}, final))
    assert (problem["status"], problem["code"]) == (504, "upstream_timeout")
    assert MAY_BE_WRITTEN in problem["detail"] and "batch" not in problem["detail"]
    stats = sim.stats()
    assert (stats[endpoint], stats[endpoint + "_ok"]) == (1, 1)  # it arrived and was written: never re-sent


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_a_connection_lost_after_sending_is_not_resent_and_warns(sim, client, fault):
    [record] = record_of(sim, client)
    sim.push_faults("result", [fault])
    problem = problem_of(write(client, {"task_id": "1001", "customer_id": record["customer_id"]}))
    assert (problem["status"], problem["code"]) == (502, "upstream_connection_lost")
    assert MAY_BE_WRITTEN in problem["detail"]
    assert sim.stats()["result"] == 1


def test_a_refused_token_is_replaced_and_the_write_sent_exactly_twice(sim, client):
    [record] = record_of(sim, client)
    sim.expire_tokens()
    answer = write(client, {"task_id": "1001", "customer_id": record["customer_id"]})
    assert answer.status_code == 200
    stats = sim.stats()
    assert (stats["result"], stats["result_ok"], stats["business_unauthorized"], stats["refresh"]) == (2, 1, 1, 1)


def test_a_write_refused_twice_is_upstream_auth_failed(sim, client):
    [record] = record_of(sim, client)
    sim.push_faults("result", ["status:403", "status:403"])
    problem = problem_of(write(client, {"task_id": "1001", "customer_id": record["customer_id"]}))
    assert (problem["status"], problem["code"]) == (502, "upstream_auth_failed")
    assert sim.stats()["result"] == 2


@pytest.fixture
def keyed(sim, gateway, tmp_path):
    """A gateway with an Idempotency-Key store of its own (the default file outlives the test run)."""
    return gateway(login_settings(sim.url, idempotency_url=f"sqlite:///{tmp_path}/keys.sqlite3"))


def test_an_idempotent_retry_replays_the_answer_and_writes_once(sim, keyed):
    client = keyed
    [record] = record_of(sim, client)
    body = {"task_id": "1001", "customer_id": record["customer_id"], "status": "0"}
    first = write(client, body, **{"Idempotency-Key": "call-1"})
    again = write(client, {**body, "vcc_id": 1}, **{"Idempotency-Key": "call-1"})  # same request, default spelt out
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data() and again.headers["Idempotent-Replayed"] == "true"
    assert "X-Batch-ID" not in again.headers
    other = write(client, {**body, "status": "1"}, **{"Idempotency-Key": "call-1"})
    assert problem_of(other)["code"] == "idempotency_key_reused"
    assert (sim.stats()["result"], sim.stats()["duplicates"]) == (1, 0)


def test_a_failed_keyed_write_frees_the_key_for_a_retry(sim, keyed):
    client = keyed
    [record] = record_of(sim, client)
    body = {"task_id": "1001", "customer_id": record["customer_id"]}
    sim.push_faults("result", ["status:500"])
    assert write(client, body, **{"Idempotency-Key": "k-2"}).status_code == 502
    assert write(client, body, **{"Idempotency-Key": "k-2"}).status_code == 200
    assert sim.stats()["result"] == 2


def test_the_same_key_on_the_two_write_routes_writes_both(sim, keyed):
    """Scope per route: an intermediate write must never be answered with the final one's replay."""
    client = keyed
    [record] = record_of(sim, client)
    body = {"task_id": "1001", "customer_id": record["customer_id"], "status": "0"}
    key = {"Idempotency-Key": record["customer_id"]}
    assert write(client, body, final=False, **key).status_code == 200
    final = write(client, body, final=True, **key)
    assert final.status_code == 200 and "Idempotent-Replayed" not in final.headers
    assert (sim.stats()["midresult_ok"], sim.stats()["result_ok"]) == (1, 1)


def test_the_path_can_be_overridden(httpserver: HTTPServer, gateway):
    httpserver.expect_request("/iSales/pushCallOutRlt", json=upstream_of(MINIMAL)).respond_with_json({"result": "0"})
    client = gateway(settings_for(httpserver.url_for("/"), paths={"result": "/iSales/pushCallOutRlt"}))
    assert write(client, MINIMAL).status_code == 200


@pytest.mark.parametrize("answer", [b"not json", b'{"resultData": {}}', b'{"result": null}'])
def test_an_unreadable_answer_is_bad_response_and_warns(httpserver: HTTPServer, gateway, answer):
    httpserver.expect_request(RESULT).respond_with_data(answer, content_type="application/json")
    problem = problem_of(write(gateway(settings_for(httpserver.url_for("/"))), MINIMAL))
    assert problem["code"] == "upstream_bad_response" and MAY_BE_WRITTEN in problem["detail"]
    assert len(httpserver.log) == 1
