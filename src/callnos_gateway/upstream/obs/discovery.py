"""Interface discovery (``business/interface``): the paths the upstream says it serves.

Request ``{"version": 311}`` (the manual's sample). Answer ``resultData``:
``version`` and one path per interface under the upstream's own names
(``getHoliDay`` sic). A read: sent once more after a read timeout, a lost
connection or a 5xx. Only the ``discover`` command calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

from callnos_gateway.errors import NOTHING_TAKEN
from callnos_gateway.records.envelope import id_text, result_object
from callnos_gateway.upstream.obs.interface import OBS, ONCE_MORE, Interface

DISCOVERY = Interface("discovery", OBS + "/business/interface", ONCE_MORE, NOTHING_TAKEN)
VERSION = 311
# The upstream's name of each interface -> ours (None: the gateway does not call it).
REPORTED_NAMES = {
    "refreshtoken": "refresh",
    "gettask": "tasks",
    "getuserdata": "callnos",
    "getholiday": "holiday",
    "pushcalloutrlt": "result",
    "pushmidrlt": "midresult",
    "pushtaskstatus": None,
}


@dataclass(frozen=True, slots=True)
class Discovered:
    """The upstream's version and the paths it reports, by the upstream's own key."""

    version: str | None
    paths: dict[str, str]


def request_body() -> dict[str, int]:
    """The discovery request."""
    return {"version": VERSION}


def read(body: bytes) -> Discovered:
    """Every string field but ``version`` is a reported path; unknown keys are kept."""
    data = result_object(body, "interface discovery")
    paths = {key: value.strip() for key, value in data.items() if key != "version" and isinstance(value, str)}
    return Discovered(id_text(data.get("version")), paths)


def our_name(reported_key: str) -> str | None:
    """Our interface name for one of the upstream's keys (case-insensitive), or None."""
    return REPORTED_NAMES.get(reported_key.lower())
