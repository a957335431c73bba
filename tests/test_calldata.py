"""POST /v1/call-data end to end against the simulator (CONTRACT section 1)."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from conftest import CALLNOS, fetch, settings_for
from callnos_gateway.simulator import Simulator, SimulatorConfig

RECORD_FIELDS = ["task_id", "customer_id", "called_numbers", "caller_number", "call_data", "ie_data", "warnings"]
CONTRACT_IE = ("RedInfo:RedInd=1,OldRes=1,Res=1,Count=2;RedNumber:NumPlan=0,NumType=0,NumSi=0,NumPi=0,"
               "Number=9558800;callerno:callernumber=12345;sipdatahead:x-charge:Bob sip:bob@biloxi.com;"
               "tag=a\\6c,85cf#%#%x-vdf:vender name#$#$")


def test_a_batch_is_normalised(sim, client):
    response = fetch(client, {"task_id": 1001, "batch_size": 50})
    assert response.status_code == 200
    body = response.json
    assert list(body) == ["batch_id", "task_id", "version", "count", "records"]
    assert body["task_id"] == 1001 and body["count"] == 50 == len(body["records"])
    assert response.headers["X-Batch-ID"] == body["batch_id"]
    for record in body["records"]:
        assert list(record) == RECORD_FIELDS
        assert record["task_id"] == "1001"
        assert isinstance(record["called_numbers"], list)
        assert all(isinstance(n, str) for n in record["called_numbers"])
        assert record["ie_data"] is None or set(record["ie_data"]) == {
            "elements", "caller_number", "sip_headers", "raw", "warnings"}
    ids = [r["customer_id"] for r in body["records"]]
    assert len(set(ids)) == 50


def test_each_fetch_takes_the_next_records_and_batch_ids_differ(sim, client):
    first = fetch(client, {"task_id": 7, "batch_size": 10}).json
    second = fetch(client, {"task_id": 7, "batch_size": 10}).json
    assert first["batch_id"] != second["batch_id"]
    assert not {r["customer_id"] for r in first["records"]} & {r["customer_id"] for r in second["records"]}
    assert sim.stats()["records_out"] == 20


def test_an_exhausted_task_is_200_with_count_zero(gateway):
    with Simulator(SimulatorConfig(port=0, user="gateway", password="s3cret-pa55word", records_per_task=3)) as sim:
        from conftest import login_settings
        client = gateway(login_settings(sim.url))
        assert fetch(client, {"task_id": 1, "batch_size": 5}).json["count"] == 3
        empty = fetch(client, {"task_id": 1, "batch_size": 5})
        assert empty.status_code == 200
        assert (empty.json["count"], empty.json["records"]) == (0, [])


def test_the_contract_example_comes_out_as_documented(httpserver: HTTPServer, gateway):
    httpserver.expect_request(CALLNOS).respond_with_json({"result": 0, "resultData": {"version": "311", "taskData": [
        {"seviceId": "1001", "uiqueId": "C-0001", "phoneNumber": ["13800138000", "10086"],
         "callerNumber": "10086", "callData": "order=7781", "ieData": CONTRACT_IE}]}})
    body = fetch(gateway(settings_for(httpserver.url_for("/")))).json
    assert body["version"] == "311" and body["count"] == 1
    assert body["records"][0] == {
        "task_id": "1001", "customer_id": "C-0001", "called_numbers": ["13800138000", "10086"],
        "caller_number": "10086", "call_data": "order=7781", "warnings": [],
        "ie_data": {
            "elements": {
                "RedInfo": {"RedInd": "1", "OldRes": "1", "Res": "1", "Count": "2"},
                "RedNumber": {"NumPlan": "0", "NumType": "0", "NumSi": "0", "NumPi": "0", "Number": "9558800"},
            },
            "caller_number": "12345",
            "sip_headers": [{"name": "x-charge", "value": "Bob sip:bob@biloxi.com;tag=a\\6c,85cf"},
                            {"name": "x-vdf", "value": "vender name"}],
            "raw": CONTRACT_IE,
            "warnings": [],
        },
    }


def test_the_single_record_shape_comes_out_as_a_list(httpserver: HTTPServer, gateway):
    httpserver.expect_request(CALLNOS).respond_with_json(
        {"result": "0", "resultData": {"version": 311, "serviceId": 5, "uniqueId": "C-5", "phoneNumber": "1"}})
    body = fetch(gateway(settings_for(httpserver.url_for("/")))).json
    assert (body["version"], body["count"]) == ("311", 1)
    assert body["records"][0]["called_numbers"] == ["1"]


def test_a_simulator_answer_in_every_shape_keeps_every_record(sim, client):
    total = 0
    for _ in range(8):
        total += fetch(client, {"task_id": 42, "batch_size": 1}).json["count"]
        total += fetch(client, {"task_id": 42, "batch_size": 7}).json["count"]
    assert total == 64 == sim.stats()["records_out"]
