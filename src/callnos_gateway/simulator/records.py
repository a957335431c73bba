"""Deterministic fake outbound-call records, in every shape the upstream may send.

Why: the gateway must cope with both spellings of the misspelled fields, a lone
string where a list is documented, absent and null fields, unknown extra fields
and every ieData variant listed in docs/UPSTREAM.md. A record here depends only on
the seed, its task and its position, so runs are reproducible, and every
variant comes round within the first few dozen records of any task.

The ieData strings are written out by hand on purpose: sharing the gateway's
own formatter would let both sides be wrong in the same way.
"""

from __future__ import annotations

from typing import Any, Callable

TaskKey = tuple[int, int, int]  # (subCCNo, vdnId, serviceId)
VERSION = "311"

_MASK64 = (1 << 64) - 1
SIP_PART = r"sipdatahead:x-charge:Bob sip:bob@biloxi.com;tag=a\6c,85cf#%#%x-vdf:vender name#$#$"
ABSENT = object()  # marks a field left out of the record altogether


def mix(*values: int) -> int:
    """Hash integers to 64 bits (splitmix64 rounds): cheap and stable across runs."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = ((state ^ (value & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        state ^= state >> 31
        state = (state * 0x94D049BB133111EB) & _MASK64
        state ^= state >> 29
    return state


def _ie(count: int, number: str) -> str:
    return (
        f"RedInfo:RedInd=1,OldRes=1,Res=1,Count={count};"
        f"RedNumber:NumPlan=0,NumType=0,NumSi=0,NumPi=0,Number={number}"
    )


def _spaced(count: int, number: str) -> str:
    return (
        f"RedInfo :RedInd=1, OldRes=1, Res=1, Count={count};"
        f"RedNumber :NumPlan=0, NumType=0, NumSi=0, NumPi=0, Number={number}"
    )


def _full_width(count: int, number: str) -> str:
    return f"RedInfo：RedInd＝1，OldRes＝1，Count＝{count}；callerno：callernumber＝{number}"


IeBuilder = Callable[[int, str], Any]

# name -> builder(count, number); the order is the cycle the records follow.
IE_SHAPES: dict[str, IeBuilder] = {
    "ie_only": _ie,
    "ie_callerno": lambda c, n: f"{_ie(c, n)};callerno:callernumber={n}",
    "ie_callerno_mixed_case": lambda c, n: f"{_ie(c, n)};CallerNo:CALLERNUMBER={n}",
    "ie_sip": lambda c, n: f"{_ie(c, n)};{SIP_PART}",
    "ie_callerno_sip": lambda c, n: f"{_ie(c, n)};callerno:callernumber={n};{SIP_PART}",
    "sip_only": lambda c, n: SIP_PART,
    "spaces": _spaced,
    "full_width": _full_width,
    "element_without_colon": lambda c, n: f"RedInfo;RedNumber:NumPlan=0,Number={n}",
    "pair_without_equals": lambda c, n: f"RedInfo:RedInd=1,OldRes,Count={c}",
    "repeated_element": lambda c, n: f"RedInfo:RedInd=1;RedInfo:RedInd=2,Count={c}",
    "sip_trailing_junk": lambda c, n: f"{_ie(c, n)};{SIP_PART}ext={n}",
    "sip_upper_empty_headers": lambda c, n: (
        "SIPDATAHEAD:x-charge:Alice sip:alice@atlanta.com#%#%#%#%x-vdf:vender name#$#$"
    ),
    "empty": lambda c, n: "",
    "absent": lambda c, n: ABSENT,
    "null": lambda c, n: None,
}
_IE_ORDER = tuple(IE_SHAPES)

# spelling -> (task id key, customer id key); "table" is the doc table's mix.
_SPELLING_KEYS = {
    "doc": ("seviceId", "uiqueId"),
    "fixed": ("serviceId", "uniqueId"),
    "table": ("seviceId", "uniqueId"),
}
_MIXED_ORDER = ("doc", "fixed", "table")


def ie_shape_name(seed: int, index: int) -> str:
    """Name the ieData shape of the record at ``index`` (1-based) for ``seed``."""
    return _IE_ORDER[(index + seed) % len(_IE_ORDER)]


def spelling_keys(mode: str, seed: int, index: int) -> tuple[str, str]:
    """Return the (task id, customer id) field names a record uses."""
    if mode == "mixed":
        mode = _MIXED_ORDER[(index + seed) % len(_MIXED_ORDER)]
    return _SPELLING_KEYS[mode]


def customer_id(key: TaskKey, index: int) -> str:
    """Return the customer id of a record: unique within its task."""
    return f"C-{key[2]}-{index:06d}"


def make_record(seed: int, key: TaskKey, index: int, spelling: str) -> dict[str, Any]:
    """Build the record at position ``index`` (1-based) of task ``key``."""
    digest = mix(seed, *key, index)
    turn = index + seed
    task_field, id_field = spelling_keys(spelling, seed, index)
    record: dict[str, Any] = {
        "version": VERSION,
        task_field: str(key[2]),
        id_field: customer_id(key, index),
        "phoneNumber": _phone_numbers(digest, turn),
    }
    _put(record, "callData", _call_data(digest, turn, index))
    _put(record, "callerNumber", ABSENT if turn % 7 == 3 else _caller(digest))
    number = str(9558800 + digest % 100)
    _put(record, "ieData", IE_SHAPES[ie_shape_name(seed, index)](1 + digest % 4, number))
    if turn % 13 == 4:
        record["extField"] = "x"
    return record


def make_records(seed: int, key: TaskKey, indexes: range, spelling: str) -> list[dict[str, Any]]:
    """Build the records at the given positions of a task, in order."""
    return [make_record(seed, key, index, spelling) for index in indexes]


def _put(record: dict[str, Any], name: str, value: Any) -> None:
    if value is not ABSENT:
        record[name] = value


def _phone_numbers(digest: int, turn: int) -> list[str] | str:
    numbers = [f"13{(digest >> (9 * slot)) % 10**9:09d}" for slot in range(1 + (digest >> 40) % 3)]
    return numbers[0] if turn % 10 == 7 else numbers


def _call_data(digest: int, turn: int, index: int) -> Any:
    kind = turn % 11
    if kind == 5:
        return ABSENT
    if kind == 8:
        return None
    if kind == 2:
        return f"客户={index};订单={digest % 100000}"
    return f"order={digest % 100000};seq={index}"


def _caller(digest: int) -> str:
    return "10086" if digest % 3 == 0 else f"0755{(digest >> 20) % 10**8:08d}"
