"""The record fast path gives byte-identical answers to the marshmallow-only path.

``callnos_gateway.records.record_plan`` reads plain records without marshmallow;
``normalise_answer(body, plan=None)`` is the reference: every record through
``UpstreamRecordSchema.load``. The inputs: the simulator's own records (every
ieData shape, both spellings, both answer shapes) and generated ones (wrong
types, nulls, booleans, numbers past 64 bits, both spellings at once, unknown
fields, records that are not objects, ieData made of separator soup).
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import RAISE, fields, pre_load

from callnos_gateway.errors import UpstreamError
from bench.records import realistic_record
from callnos_gateway.records import normalise as upstream
from callnos_gateway.upstream.obs import callnos
from callnos_gateway.records.fields import LooseString
from callnos_gateway.records.record_plan import RecordPlan
from callnos_gateway.api.schemas.answers import render_batch
from callnos_gateway.simulator.records import ABSENT, IE_SHAPES, make_records

EXAMPLES = 5_000 if os.environ.get("CI") else 400
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rendered(body: bytes, plan) -> bytes | str:
    """The gateway's answer bytes for an upstream body, or the error it raises."""
    try:
        return render_batch("b" * 32, 1001, callnos.read(body, plan))
    except UpstreamError as error:
        return f"{type(error).__name__}: {error}"


def assert_same_answer(body: bytes) -> None:
    """The fast path's answer equals, byte for byte, the schema-only answer (``plan=None``)."""
    assert rendered(body, upstream.RECORD_PLAN) == rendered(body, None)


def answer(result_data, result=0) -> bytes:
    """An upstream body (stdlib json: numbers past 64 bits get through, as they might upstream)."""
    return json.dumps({"result": result, "resultData": result_data}, ensure_ascii=False).encode()


# --- the fast path is really there, and really taken

def test_the_schema_gets_a_plan_covering_every_field_output_fields_first():
    assert upstream.RECORD_PLAN is not None
    assert sorted(upstream.RECORD_PLAN.names) == sorted(upstream.RECORD_SCHEMA.load_fields)
    assert upstream.RECORD_PLAN.names[:len(upstream.OUTPUT_FIELDS)] == upstream.OUTPUT_FIELDS


def test_a_plain_record_has_the_output_fields_in_order_then_warnings():
    values = upstream.RECORD_PLAN.read({"serviceId": "t", "uniqueId": "c", "phoneNumber": "1", "callerNumber": "2",
                                         "callData": "d", "ieData": "A:k=v"})
    record = upstream._plain_record(values)
    assert list(record) == [*upstream.OUTPUT_FIELDS, "warnings"]
    assert [record[name] for name in upstream.OUTPUT_FIELDS] == values[:len(upstream.OUTPUT_FIELDS)]


class ExtraHook(upstream.UpstreamRecordSchema):
    @pre_load
    def strip(self, data, **kwargs):
        return data


class Validated(upstream.UpstreamRecordSchema):
    call_data = LooseString(data_key="callData", allow_none=True, validate=lambda text: len(text) < 10)


class Plain(upstream.UpstreamRecordSchema):
    call_data = fields.String(data_key="callData", allow_none=True)


@pytest.mark.parametrize("schema", [ExtraHook(), Validated(), Plain(), upstream.UpstreamRecordSchema(unknown=RAISE)],
                         ids=["another hook", "a validator", "a field without plain", "unknown not excluded"])
def test_no_plan_for_a_schema_that_does_more_than_the_plan_sees(schema):
    assert RecordPlan.from_schema(schema, upstream.SPELLING_FIXES, fold_hook="fold_spellings") is None


def test_every_simulator_record_is_plain():
    records = make_records(1, (1, 1, 1001), range(1, 101), "mixed")
    assert all(upstream.RECORD_PLAN.read(record) is not None for record in records)


ODD_RECORDS = [
    {"uniqueId": True}, {"serviceId": {"a": 1}}, {"callData": ["x"]}, {"callerNumber": False},
    {"phoneNumber": ["1", None]}, {"phoneNumber": [True]}, {"phoneNumber": {"n": "1"}}, {"phoneNumber": [["1"]]},
    {"ieData": ["A:k=v"]}, {"ieData": True}, {"version": {"v": 1}}, {"version": [311]},
    {"seviceId": 5, "serviceId": None}, {"seviceId": None, "uiqueId": 7}, {"seviceId": [1]},
    {"uiqueId": {}, "uniqueId": "C-1"},
]


@pytest.mark.parametrize("record", ODD_RECORDS, ids=[json.dumps(r) for r in ODD_RECORDS])
def test_odd_records_match_the_schema(record):
    assert_same_answer(answer({"version": "311", "taskData": [record, {"uniqueId": "next"}]}))
    assert_same_answer(answer(record))


PLAIN_RECORDS = [
    {}, {"serviceId": 1001, "uniqueId": 5, "phoneNumber": 13800138000, "callerNumber": 1.5, "ieData": 7},
    {"phoneNumber": [1, "2", 3.25]}, {"phoneNumber": []}, {"phoneNumber": None, "ieData": None, "version": None},
    {"seviceId": "wrong", "serviceId": "right", "uiqueId": "x", "uniqueId": "y"}, {"extField": {"x": [1]}},
    {"version": 311, "ieData": ""}, {"callData": "\u5ba2\u6237=1;\u8ba2\u5355=2"},
]


@pytest.mark.parametrize("record", PLAIN_RECORDS, ids=[json.dumps(r) for r in PLAIN_RECORDS])
def test_plain_records_take_the_fast_path_and_match_the_schema(record):
    assert upstream.RECORD_PLAN.read(record) is not None
    assert_same_answer(answer({"taskData": [record]}))


@pytest.mark.parametrize("item", ["C-7,13800138000", 5, None, True, [{"uniqueId": "C-1"}], 1.5])
def test_records_that_are_not_objects(item):
    assert_same_answer(answer({"version": "311", "taskData": [item, {"uniqueId": "C-8"}]}))


# --- realistic answers: the simulator's records

@pytest.mark.parametrize("spelling", ["mixed", "doc", "fixed"])
@pytest.mark.parametrize("seed", [1, 2, 7])
def test_simulator_batches(seed, spelling):
    records = make_records(seed, (1, 1, 1001), range(1, 201), spelling)
    assert_same_answer(answer({"version": "311", "taskData": records}))
    assert_same_answer(answer(records))  # a bare list, no version: the first record's counts


@pytest.mark.parametrize("index", range(1, 33))
def test_simulator_single_record_shape(index):
    (record,) = make_records(3, (2, 5, 77), range(index, index + 1), "mixed")
    assert_same_answer(answer({"version": "311", **record}, result="0"))


@pytest.mark.parametrize("shape", list(IE_SHAPES))
def test_every_simulator_ie_shape_in_a_plain_record(shape):
    raw = IE_SHAPES[shape](2, "9558899")
    record = {"serviceId": "1", "uniqueId": "C-1", "phoneNumber": ["1"]}
    if raw is not ABSENT:
        record["ieData"] = raw
    assert upstream.RECORD_PLAN.read(record) is not None
    assert_same_answer(answer({"taskData": [record]}))


def test_realistic_batches_with_an_odd_record_among_them():
    records = [realistic_record(1001, index) for index in range(1, 101)]
    assert_same_answer(answer({"version": "311", "taskData": records}))
    records[50] = {**records[50], "ieData": "RedInfo:RedInd=1;RedInfo:RedInd=2"}
    records[60] = {**records[60], "ieData": ["not", "a", "string"]}
    assert_same_answer(answer({"version": "311", "taskData": records}))


# --- generated records: anything JSON, in the places the schema reads

KEYS = ["seviceId", "serviceId", "uiqueId", "uniqueId", "phoneNumber", "callData", "callerNumber",
        "ieData", "version", "extField"]
IE_FRAGMENTS = ["RedInfo", "callerno", "CallerNo", "callernumber", "CALLERNUMBER", "sipdatahead", "SipDataHead",
                "#%#%", "#$#$", ";", ":", ",", "=", " ", "\t", '"', "\\", "\uff1b", "\uff1a", "\u0130", "\u5ba2",
                "a", "k", "1", "v"]
ie_soup = st.lists(st.sampled_from(IE_FRAGMENTS), max_size=24).map("".join)
numbers = st.one_of(st.integers(min_value=-(2**63), max_value=2**64 - 1),
                    st.floats(allow_nan=False, allow_infinity=False))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12), ie_soup)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=8)
phone_numbers = st.one_of(st.lists(st.one_of(st.text(max_size=11), numbers), max_size=3), json_values)
records = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=len(KEYS)),
    st.fixed_dictionaries({"phoneNumber": phone_numbers}, optional={key: json_values for key in KEYS[:4]}),
)
plain_records = st.fixed_dictionaries({}, optional={
    key: st.one_of(st.none(), st.text(max_size=10), numbers, ie_soup) for key in KEYS})
any_record = st.one_of(records, plain_records, json_values)


@SETTINGS
@given(st.lists(any_record, max_size=8), st.one_of(st.none(), st.just("311"), json_values))
def test_generated_list_answers(items, version):
    assert_same_answer(answer({"version": version, "taskData": items}))


@SETTINGS
@given(st.one_of(records, plain_records), st.sampled_from([0, "0", " 0 "]))
def test_generated_single_record_answers(record, result):
    assert_same_answer(answer({"version": "311", **record}, result=result))
