"""tasks (``business/tasks``): the outbound tasks of a call center and VCC.

Request ``{"subCCNo": int, "vdnId": int}``. Answer: ``resultData.taskData``,
a list of objects with ``serviceId`` (or ``seviceId``), or one such object
directly in ``resultData``; ids as strings or numbers. A read: sent once more
after a read timeout, a lost connection or a 5xx.
"""

from __future__ import annotations

from typing import Any

from callnos_gateway.errors import NOTHING_TAKEN, UpstreamBadResponse
from callnos_gateway.records.envelope import decode_json, id_text, successful_result_data
from callnos_gateway.upstream.obs.interface import OBS, ONCE_MORE, Interface

TASKS = Interface("tasks", OBS + "/business/tasks", ONCE_MORE, NOTHING_TAKEN)
ID_KEYS = ("serviceId", "seviceId")  # the documented spelling wins over the misspelt one


def request_body(sub_cc_no: int, vdn_id: int) -> dict[str, int]:
    """The tasks request under the upstream's names."""
    return {"subCCNo": sub_cc_no, "vdnId": vdn_id}


def read(body: bytes) -> list[str]:
    """Task ids, as strings, in the upstream's order; [] when there are none."""
    data = successful_result_data(decode_json(body))
    return [_task_id(item, at) for at, item in enumerate(_items(data))]


def _items(data: Any) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, dict):
        raise UpstreamBadResponse("The upstream tasks answer's 'resultData' is not an object.")
    if any(key in data for key in ID_KEYS):
        return [data]
    items = data.get("taskData")
    if items is None:
        return []
    if isinstance(items, dict):
        return [items]
    if not isinstance(items, list):
        raise UpstreamBadResponse("The upstream tasks answer's 'taskData' is not an array.")
    return items


def _task_id(item: Any, at: int) -> str:
    """One task's id; a task without a readable id is a bad answer (it cannot be fetched)."""
    if isinstance(item, dict):
        for key in ID_KEYS:
            text = id_text(item.get(key))
            if text is not None:
                return text
    raise UpstreamBadResponse(f"The upstream task at position {at} has no serviceId.")
