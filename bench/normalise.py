"""Section 1: normalising realistic answers, against the bare JSON round trip.

Answers come from the simulator's own record generator, so every ieData shape,
both spellings, lone-string phone numbers and absent fields appear. Each
contender turns the upstream bytes into answer bytes:

- ``orjson``: ``orjson.dumps(orjson.loads(body))``, the floor;
- ``json``: the same with the standard library (the floor the issue names);
- ``gateway``: ``normalise_answer`` + ``render_batch``: parse, validate, ieData,
  dump, as ``POST /v1/call-data`` does it;
- ``schema_only``: the same with every record through marshmallow (the path
  before the fast path, still the fallback for records that are not plain);
- ``naive``: stdlib ``json``, marshmallow ``load`` and ``dump``, for context;
- ``reshape``: orjson both ways, and in between only the dicts of the
  answer's shape, filled without a check and with ieData unparsed: not a
  gateway, but the least any Python code producing this answer must do.

A 1-record "answer" is 16 one-record answers (records 1..16, one of each
ieData shape) timed together and divided by 16.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson

from bench.timing import interleaved_medians
from callnos_gateway.api.schemas.answers import CallDataResponseSchema, render_batch
from callnos_gateway.records.normalise import UpstreamRecordSchema, fold_shape
from callnos_gateway.upstream.obs.callnos import read as normalise_answer
from callnos_gateway.upstream.obs.envelope import successful_result_data
from callnos_gateway.simulator.answers import dumps
from callnos_gateway.simulator.records import IE_SHAPES, make_records

SIZES = (1, 100, 1000)
TASK = (1, 1, 1001)
BATCH_ID = "9f1c2a0e6b7d4e0f8a3b5c6d7e8f9a0b"
SINGLES = len(IE_SHAPES)


def answer_bodies(size: int, seed: int = 1) -> list[bytes]:
    """Upstream bodies holding ``size`` records in all (list shape, as the simulator sends it)."""
    if size == 1:
        return [_body(make_records(seed, TASK, range(index, index + 1), "mixed")) for index in range(1, SINGLES + 1)]
    return [_body(make_records(seed, TASK, range(1, size + 1), "mixed"))]


def _body(records: list[dict]) -> bytes:
    return dumps({"result": 0, "resultData": {"version": "311", "taskData": records}})


def naive(body: bytes) -> bytes:
    """Marshmallow both ways, stdlib JSON: a schema per answer, ``load`` per record, ``dump`` of all."""
    raw_records, version = fold_shape(successful_result_data(json.loads(body)))
    schema = UpstreamRecordSchema()
    records = [schema.load(raw) for raw in raw_records]
    payload = {"batch_id": BATCH_ID, "task_id": TASK[2], "version": version, "count": len(records),
               "records": records}
    return json.dumps(CallDataResponseSchema().dump(payload)).encode()


def reshape(body: bytes) -> bytes:
    """The answer's shape and nothing else: no checks, no coercion, ieData not parsed."""
    records = []
    for raw in orjson.loads(body)["resultData"]["taskData"]:
        get = raw.get
        ie_data = get("ieData")
        records.append({
            "task_id": get("serviceId") or get("seviceId"), "customer_id": get("uniqueId") or get("uiqueId"),
            "called_numbers": get("phoneNumber"), "caller_number": get("callerNumber"), "call_data": get("callData"),
            "ie_data": None if ie_data is None else {"elements": {}, "caller_number": None, "sip_headers": [],
                                                     "raw": ie_data, "warnings": []},
            "warnings": [],
        })
    return orjson.dumps({"batch_id": BATCH_ID, "task_id": TASK[2], "version": "311", "count": len(records),
                         "records": records})


CONTENDERS: dict[str, Callable[[bytes], bytes]] = {
    "orjson": lambda body: orjson.dumps(orjson.loads(body)),
    "json": lambda body: json.dumps(json.loads(body)).encode(),
    "gateway": lambda body: render_batch(BATCH_ID, TASK[2], normalise_answer(body)),
    "schema_only": lambda body: render_batch(BATCH_ID, TASK[2], normalise_answer(body, None)),
    "naive": naive,
    "reshape": reshape,
}


def _over(convert: Callable[[bytes], bytes], bodies: list[bytes]) -> Callable[[], None]:
    def run() -> None:
        for body in bodies:
            convert(body)
    return run


def run(rounds: int = 7) -> list[dict]:
    """Time every contender on every size; rows of records/s and ratios to the floors."""
    rows = []
    for size in SIZES:
        bodies = answer_bodies(size)
        medians = interleaved_medians({name: _over(f, bodies) for name, f in CONTENDERS.items()}, rounds)
        records = size * len(bodies) if size == 1 else size
        row = {"records": size, "body_bytes": sum(map(len, bodies)) // len(bodies)}
        for name, seconds in medians.items():
            row[name] = {"us_per_answer": seconds / len(bodies) * 1e6, "records_per_s": records / seconds}
        row["gateway_vs_orjson"] = medians["gateway"] / medians["orjson"]
        row["gateway_vs_json"] = medians["gateway"] / medians["json"]
        row["schema_only_vs_orjson"] = medians["schema_only"] / medians["orjson"]
        row["naive_vs_orjson"] = medians["naive"] / medians["orjson"]
        row["reshape_vs_orjson"] = medians["reshape"] / medians["orjson"]
        rows.append(row)
    return rows
