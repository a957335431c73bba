"""GET /v1/holidays/<holiday_id> (CONTRACT section 8): isHoliday values, the request sent, validation."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from conftest import settings_for
from outbound import HOLIDAY, get, problem_of


def test_the_simulator_s_holiday_rules_are_answered(sim, client):
    assert get(client, "/v1/holidays/7").json == {"holiday_id": "7", "is_holiday": True}
    assert get(client, "/v1/holidays/8").json == {"holiday_id": "8", "is_holiday": False}
    assert sim.stats()["isholiday"] == 2 and sim.stats()["callnos"] == 0


@pytest.mark.parametrize("value, expected", [(0, False), (1, True), ("0", False), ("1", True)])
def test_is_holiday_as_a_number_or_a_string_is_a_boolean(httpserver: HTTPServer, gateway, value, expected):
    httpserver.expect_request(HOLIDAY, method="POST", json={"subCCNo": 2, "vdnId": 88, "holidayId": "1"}).respond_with_json(
        {"result": 0, "resultData": {"isHoliday": value}})
    answer = get(gateway(settings_for(httpserver.url_for("/"))), "/v1/holidays/1?call_center_id=2&vcc_id=88")
    assert (answer.status_code, answer.json) == (200, {"holiday_id": "1", "is_holiday": expected})


@pytest.mark.parametrize("value", [2, -1, "2", "yes", "", " 1", "01", True, False, None, 1.0, [1], {"v": 1}])
def test_any_other_is_holiday_is_upstream_bad_response(httpserver: HTTPServer, gateway, value):
    httpserver.expect_request(HOLIDAY).respond_with_json({"result": "0", "resultData": {"isHoliday": value}})
    body = problem_of(get(gateway(settings_for(httpserver.url_for("/"))), "/v1/holidays/7"))
    assert (body["status"], body["code"]) == (502, "upstream_bad_response")
    assert len(httpserver.log) == 1  # a bad answer is not asked again


@pytest.mark.parametrize("result_data", [{}, None, "1", []])
def test_an_answer_without_is_holiday_is_upstream_bad_response(httpserver: HTTPServer, gateway, result_data):
    httpserver.expect_request(HOLIDAY).respond_with_json({"result": 0, "resultData": result_data})
    assert problem_of(get(gateway(settings_for(httpserver.url_for("/"))), "/v1/holidays/7"))["code"] == "upstream_bad_response"


def test_the_holiday_id_is_sent_as_the_string_given(httpserver: HTTPServer, gateway):
    httpserver.expect_request(HOLIDAY, json={"subCCNo": 1, "vdnId": 1, "holidayId": "0042 é"}).respond_with_json(
        {"result": 0, "resultData": {"isHoliday": 1}})
    answer = get(gateway(settings_for(httpserver.url_for("/"))), "/v1/holidays/0042%20%C3%A9")
    assert answer.json == {"holiday_id": "0042 é", "is_holiday": True}


@pytest.mark.parametrize("path, field", [
    ("/v1/holidays/" + "x" * 257, "holiday_id"), ("/v1/holidays/7?vcc_id=x", "vcc_id"),
    ("/v1/holidays/7?call_center_id=false", "call_center_id"), ("/v1/holidays/7?holidayId=7", "holidayId"),
])
def test_bad_input_is_400_naming_the_field_and_sends_nothing(httpserver: HTTPServer, gateway, path, field):
    body = problem_of(get(gateway(settings_for(httpserver.url_for("/"))), path))
    assert (body["status"], field in body["errors"]) == (400, True)
    assert len(httpserver.log) == 0


def test_a_rejection_is_upstream_rejected(sim, client):
    sim.push_faults("isholiday", ["result:0700001"])
    body = problem_of(get(client, "/v1/holidays/7"))
    assert (body["status"], body["code"], body["upstream_result"]) == (502, "upstream_rejected", "0700001")


def test_a_read_timeout_is_sent_once_more(sim, gateway):
    from conftest import login_settings

    client = gateway(login_settings(sim.url, read_timeout=0.3))
    sim.push_faults("isholiday", ["timeout:2"])
    assert get(client, "/v1/holidays/7").json["is_holiday"] is True
    assert sim.stats()["isholiday"] == 2


def test_the_path_can_be_overridden(httpserver: HTTPServer, gateway):
    httpserver.expect_request("/iSales/getHoliDay").respond_with_json({"result": 0, "resultData": {"isHoliday": "0"}})
    client = gateway(settings_for(httpserver.url_for("/"), paths={"holiday": "/iSales/getHoliDay"}))
    assert get(client, "/v1/holidays/7").json["is_holiday"] is False
