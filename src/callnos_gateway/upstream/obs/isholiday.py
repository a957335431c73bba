"""isholiday (``business/isholiday``): does a task's holiday rule apply today?

Request ``{"subCCNo": int, "vdnId": int, "holidayId": str}`` (the id carried
in the task; always sent as a string). Answer ``resultData.isHoliday``: 0 or
1, as a number or a string; anything else is a bad answer, never a guess. A
read: sent once more after a read timeout, a lost connection or a 5xx.
"""

from __future__ import annotations

from callnos_gateway.errors import NOTHING_TAKEN, UpstreamBadResponse
from callnos_gateway.records.envelope import result_object
from callnos_gateway.upstream.obs.interface import OBS, ONCE_MORE, Interface

HOLIDAY = Interface("holiday", OBS + "/business/isholiday", ONCE_MORE, NOTHING_TAKEN)
ANSWERS = {0: False, 1: True, "0": False, "1": True}


def request_body(sub_cc_no: int, vdn_id: int, holiday_id: str) -> dict[str, int | str]:
    """The isholiday request under the upstream's names."""
    return {"subCCNo": sub_cc_no, "vdnId": vdn_id, "holidayId": holiday_id}


def read(body: bytes) -> bool:
    """True for a holiday, False for none; anything but 0/1/"0"/"1" is a bad answer."""
    value = result_object(body, "isholiday").get("isHoliday")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value not in ANSWERS:
        shown = repr(value)[:40]
        raise UpstreamBadResponse(f"The upstream 'isHoliday' is {shown}, not 0 or 1.")
    return ANSWERS[value]
