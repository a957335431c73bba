"""The upstream answers the benchmark serves: realistic records, and the simulator's mix.

Realistic: every record carries the upstream documentation's full ieData
example (RedInfo, RedNumber, ``callerno``, and the SIP part with both
headers), with the per-call numbers (count, redirecting and caller number)
varying from record to record as they do in real traffic, so no cache of
parsed strings could make the figures look better than they are. The mix: the
simulator's own generator (every ieData shape, both spellings, odd fields).
"""

from __future__ import annotations

import json

from callnos_gateway.simulator.records import SIP_PART, make_records

MIXES = ("realistic", "mix")
TASK_OF_MIX = {"realistic": 1, "mix": 2}  # the serviceId a request names picks the mix
MIX_OF_TASK = {task: mix for mix, task in TASK_OF_MIX.items()}
VERSION = "311"


def realistic_ie_data(index: int) -> str:
    """The documented full example, with this record's own numbers."""
    number, caller = str(9558800 + index % 100_000), f"0755{index:08d}"
    return (f"RedInfo:RedInd=1,OldRes=1,Res=1,Count={1 + index % 4};"
            f"RedNumber:NumPlan=0,NumType=0,NumSi=0,NumPi=0,Number={number};"
            f"callerno:callernumber={caller};{SIP_PART}")


def realistic_record(task: int, index: int) -> dict:
    """One plain record, as the upstream documents it (misspelled keys included)."""
    return {"seviceId": str(task), "uiqueId": f"C-{task}-{index:06d}", "phoneNumber": [f"138{index:08d}"],
            "callerNumber": f"0755{index:08d}", "callData": f"order={index};seq={index}",
            "ieData": realistic_ie_data(index), "version": VERSION}


def records(mix: str, task: int, count: int) -> list[dict]:
    """``count`` records of one mix."""
    if mix == "realistic":
        return [realistic_record(task, index) for index in range(1, count + 1)]
    return make_records(1, (1, 1, task), range(1, count + 1), "mixed")


def answer_body(mix: str, count: int) -> bytes:
    """The upstream's answer bytes: compact UTF-8 JSON, list shape, as the upstream sends them."""
    payload = {"result": 0, "resultData": {"version": VERSION, "taskData": records(mix, TASK_OF_MIX[mix], count)}}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
