"""Schemas of the upstream's answers, and the normalisation of a callnos batch.

The upstream misspells fields (``seviceId``, ``uiqueId``) and answers in two
shapes (a ``taskData`` list, or one record directly in ``resultData``); both
are folded here, in ``pre_load`` hooks, so the rest of the gateway sees one
shape. Records are normalised one by one and leniently: a field that cannot be
read becomes null with a warning on the record, and no record is ever dropped.
Pure: no Flask, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, pre_load

from callnos_gateway.errors import UpstreamBadResponse
from callnos_gateway.records.envelope import decode_json, successful_result_data
from callnos_gateway.records.fields import IeDataField, LooseString, PhoneNumbers, json_kind
from callnos_gateway.records.record_plan import RecordPlan

SPELLING_FIXES = {"seviceId": "serviceId", "uiqueId": "uniqueId"}
RECORD_KEYS = frozenset(
    {"seviceId", "serviceId", "uiqueId", "uniqueId", "phoneNumber", "callData", "callerNumber", "ieData"}
)
CONTAINER_KEYS = frozenset({"version", "taskData"})
OUTPUT_FIELDS = ("task_id", "customer_id", "called_numbers", "caller_number", "call_data", "ie_data")


class UpstreamRecordSchema(Schema):
    """One outbound-call record, read under the contract's names."""

    class Meta:
        unknown = EXCLUDE

    task_id = LooseString(data_key="serviceId", load_default=None, allow_none=True)
    customer_id = LooseString(data_key="uniqueId", load_default=None, allow_none=True)
    called_numbers = PhoneNumbers(data_key="phoneNumber", load_default=list, allow_none=True)
    caller_number = LooseString(data_key="callerNumber", load_default=None, allow_none=True)
    call_data = LooseString(data_key="callData", load_default=None, allow_none=True)
    ie_data = IeDataField(data_key="ieData", load_default=None, allow_none=True)
    version = LooseString(load_default=None, allow_none=True)

    @pre_load
    def fold_spellings(self, data: Any, **kwargs: Any) -> Any:
        """Read ``seviceId``/``uiqueId`` as their correct spellings (the correct one wins)."""
        if isinstance(data, dict) and not SPELLING_FIXES.keys().isdisjoint(data):
            data = dict(data)
            for wrong, right in SPELLING_FIXES.items():
                if wrong in data:
                    value = data.pop(wrong)
                    data.setdefault(right, value)
        return data


@dataclass(frozen=True, slots=True)
class NormalisedBatch:
    """What a callnos answer holds once normalised."""

    version: str | None
    records: list[dict[str, Any]]


RECORD_SCHEMA = UpstreamRecordSchema()
RECORD_PLAN = RecordPlan.from_schema(RECORD_SCHEMA, SPELLING_FIXES, fold_hook="fold_spellings", first=OUTPUT_FIELDS)
_VERSION_AT = RECORD_PLAN.names.index("version") if RECORD_PLAN is not None else -1


def normalise_answer(body: bytes, plan: RecordPlan | None = RECORD_PLAN) -> NormalisedBatch:
    """Turn a callnos answer into one shape, or raise rejected / bad response.

    ``plan=None`` reads every record with the schema alone: the reference the
    fast path is tested against, and the "before" of the benchmark.
    """
    result_data = successful_result_data(decode_json(body))
    raw_records, version = fold_shape(result_data)
    rows = plan.read_all(raw_records) if plan is not None else [None] * len(raw_records)
    records = [_normalise(raw, None)[0] if values is None else _plain_record(values)
               for raw, values in zip(raw_records, rows)]
    if version is None and records:  # the first record's (read again if it was not plain: the same answer)
        version = _normalise(raw_records[0], None)[1] if rows[0] is None else rows[0][_VERSION_AT]
    return NormalisedBatch(version, records)


def fold_shape(result_data: Any) -> tuple[list[Any], str | None]:
    """Return (records, version) from either answer shape."""
    if result_data is None:
        return [], None
    if isinstance(result_data, list):
        return result_data, None
    if not isinstance(result_data, dict):
        raise UpstreamBadResponse("The upstream 'resultData' is not an object.")
    version = _text_or_none(result_data.get("version"))
    if not RECORD_KEYS.isdisjoint(result_data):
        return [result_data], version
    unexpected = sorted(set(result_data) - CONTAINER_KEYS)
    if unexpected:
        raise UpstreamBadResponse(f"The upstream 'resultData' has unexpected keys: {', '.join(unexpected[:10])}.")
    task_data = result_data.get("taskData")
    if task_data is None:
        return [], version
    if isinstance(task_data, dict):
        return [task_data], version
    if not isinstance(task_data, list):
        raise UpstreamBadResponse("The upstream 'taskData' is not an array.")
    return task_data, version


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    return str(value)


def normalise_record(raw: Any) -> dict[str, Any]:
    """Normalise one record; what cannot be read is null and named in ``warnings``."""
    values = RECORD_PLAN.read_all([raw])[0] if RECORD_PLAN is not None else None
    return _normalise(raw, values)[0]


def _normalise(raw: Any, values: list[Any] | None) -> tuple[dict[str, Any], str | None]:
    """Return the normalised record and the upstream's per-record ``version``.

    ``values``: the plan's reading of the record, or None if it is not plain
    (or there is no plan): the schema reads it then.
    """
    if not isinstance(raw, dict):
        record = empty_record()
        record["warnings"] = [f"record is not an object but {json_kind(raw)}; its value was {_excerpt(raw)}"]
        return record, None
    if values is None:  # not plain: marshmallow reads it and says what it could not
        return _with_schema(raw)
    return _plain_record(values), values[_VERSION_AT]


def _plain_record(values: list[Any]) -> dict[str, Any]:
    """The record from the plan's values, OUTPUT_FIELDS first in that order (a test pins the keys).

    Written out rather than ``dict(zip(...))``: half the time, on every record.
    """
    return {"task_id": values[0], "customer_id": values[1],
            "called_numbers": [] if values[2] is None else values[2], "caller_number": values[3],
            "call_data": values[4], "ie_data": values[5], "warnings": []}


def _with_schema(raw: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Normalise one record with the schema alone (with its warnings): the fast path's fallback and reference."""
    warnings: list[str] = []
    try:
        loaded = RECORD_SCHEMA.load(raw)
    except ValidationError as error:
        loaded = error.valid_data if isinstance(error.valid_data, dict) else {}
        warnings = _flatten(error.messages)
    return _record_from(loaded, warnings), loaded.get("version")


def _record_from(loaded: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Put loaded values in the contract's shape: every field, nulls for what is missing."""
    record = empty_record()
    for name in OUTPUT_FIELDS:
        value = loaded.get(name)
        if value is not None:
            record[name] = value
    record["warnings"] = warnings
    return record


def empty_record() -> dict[str, Any]:
    """A record with every field absent: nulls, and no called numbers."""
    record: dict[str, Any] = dict.fromkeys(OUTPUT_FIELDS)
    record["called_numbers"] = []
    record["warnings"] = []
    return record


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [f"{key}: {text}" for key, value in messages.items() for text in _flatten(value)]
    if isinstance(messages, list):
        return [text for item in messages for text in _flatten(item)]
    return [str(messages)]


def _excerpt(value: Any, limit: int = 2000) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= limit else text[:limit] + "..."

