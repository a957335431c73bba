"""The upstream answer schema: both shapes, both spellings, and lenient records."""

from __future__ import annotations

import orjson
import pytest

from callnos_gateway.errors import UpstreamBadResponse, UpstreamRejected
from callnos_gateway.records.normalise import normalise_record
from callnos_gateway.upstream.obs.callnos import read as normalise_answer

IE = "RedInfo:RedInd=1;callerno:callernumber=12345;sipdatahead:x-vdf:vender name#$#$"


def answer(result_data, result=0) -> bytes:
    return orjson.dumps({"result": result, "resultData": result_data})


def test_list_shape_with_the_examples_misspellings():
    body = answer({"taskData": [{"seviceId": "1001", "uiqueId": "C-1", "phoneNumber": ["1", "2"],
                                  "callData": "d", "callerNumber": "10086", "ieData": IE}]})
    batch = normalise_answer(body)
    assert batch.records == [{
        "task_id": "1001", "customer_id": "C-1", "called_numbers": ["1", "2"], "caller_number": "10086",
        "call_data": "d", "ie_data": batch.records[0]["ie_data"], "warnings": [],
    }]
    assert batch.records[0]["ie_data"]["caller_number"] == "12345"
    assert list(batch.records[0]) == ["task_id", "customer_id", "called_numbers", "caller_number",
                                      "call_data", "ie_data", "warnings"]


def test_single_record_shape_with_the_tables_spelling():
    body = answer({"version": "311", "seviceId": "7", "uniqueId": "C-9", "phoneNumber": ["5"]})
    batch = normalise_answer(body)
    assert batch.version == "311"
    assert [(r["task_id"], r["customer_id"]) for r in batch.records] == [("7", "C-9")]


def test_correct_spelling_wins_when_both_are_sent():
    record = normalise_record({"seviceId": "wrong", "serviceId": "right", "uiqueId": "x", "uniqueId": "y"})
    assert (record["task_id"], record["customer_id"]) == ("right", "y")


@pytest.mark.parametrize("result", [0, "0"])
def test_result_zero_as_number_or_string(result):
    assert normalise_answer(answer({"taskData": []}, result)).records == []


def test_nulls_and_absent_fields_become_null_and_empty_list():
    record = normalise_record({"seviceId": None, "phoneNumber": None, "ieData": None})
    assert record == {"task_id": None, "customer_id": None, "called_numbers": [], "caller_number": None,
                      "call_data": None, "ie_data": None, "warnings": []}


def test_lone_string_phone_number_becomes_a_list():
    assert normalise_record({"phoneNumber": "13800138000"})["called_numbers"] == ["13800138000"]


def test_numbers_are_sent_as_strings():
    record = normalise_record({"serviceId": 1001, "uniqueId": 5, "phoneNumber": [10086], "callerNumber": 1})
    assert (record["task_id"], record["customer_id"], record["called_numbers"], record["caller_number"]) == (
        "1001", "5", ["10086"], "1")


def test_unknown_fields_are_dropped():
    record = normalise_record({"uniqueId": "C-1", "extField": "x", "version": "311"})
    assert "extField" not in record and "version" not in record


def test_order_is_kept():
    records = [{"uniqueId": f"C-{i}"} for i in range(50)]
    batch = normalise_answer(answer({"taskData": records}))
    assert [r["customer_id"] for r in batch.records] == [f"C-{i}" for i in range(50)]


def test_empty_batch_in_every_form():
    for data in ({"taskData": []}, {}, None, {"version": "311", "taskData": None}):
        assert normalise_answer(answer(data)).records == []


def test_version_falls_back_to_the_first_records():
    batch = normalise_answer(answer({"taskData": [{"version": 311, "uniqueId": "a"}, {"version": "9"}]}))
    assert batch.version == "311"


def test_a_field_of_the_wrong_type_is_null_with_a_warning_and_the_record_kept():
    record = normalise_record({"uniqueId": "C-1", "callData": {"x": 1}, "ieData": 5, "phoneNumber": ["1", None]})
    assert record["customer_id"] == "C-1"
    assert record["call_data"] is None
    assert record["called_numbers"] == ["1"]
    assert record["ie_data"]["raw"] == "5"
    assert len(record["warnings"]) == 2
    assert any(w.startswith("callData:") for w in record["warnings"])


def test_a_record_that_is_not_an_object_is_kept_with_its_value_in_a_warning():
    batch = normalise_answer(answer({"taskData": ["C-7,13800138000", {"uniqueId": "C-8"}]}))
    assert batch.records[0]["customer_id"] is None
    assert "C-7,13800138000" in batch.records[0]["warnings"][0]
    assert batch.records[1]["customer_id"] == "C-8"


def test_non_zero_result_is_rejected_with_the_message():
    with pytest.raises(UpstreamRejected) as caught:
        normalise_answer(orjson.dumps({"result": "0100001", "resultMessage": "task not found"}))
    assert caught.value.extra == {"upstream_result": "0100001", "upstream_message": "task not found"}


@pytest.mark.parametrize("body", [
    b'{"result":0,"resultData":{"taskData":[{"seviceId:"x"}]}}',
    b"[1, 2]",
    b'{"resultData": {}}',
    b'{"result": 0}',
    b'{"result": true, "resultData": {}}',
    b'{"result": 0, "resultData": "x"}',
    b'{"result": 0, "resultData": {"taskData": "x"}}',
    b'{"result": 0, "resultData": {"records": [{"id": 1}]}}',
    b"",
    b"\xff\xfe",
])
def test_bodies_that_are_not_json_or_not_the_shape_are_bad_responses(body):
    with pytest.raises(UpstreamBadResponse):
        normalise_answer(body)

