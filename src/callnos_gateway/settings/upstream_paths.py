"""The upstream's documented paths, one per OBS interface, each overridable by ``CALLNOS_PATH_<NAME>``.

A setting's default lives with the settings; each interface unit of
``callnos_gateway.upstream.obs`` names its entry here, so the path, its setting
and the interface's rules are declared once each (docs/UPSTREAM.md lists them).
"""

from __future__ import annotations

OBS = "/rest/isales/v1/openapi/obs"
PATH_SETTING = "CALLNOS_PATH_"

DOCUMENTED_PATHS: dict[str, str] = {
    "login": OBS + "/auth/login",
    "refresh": OBS + "/auth/refresh",
    "tasks": OBS + "/business/tasks",
    "callnos": OBS + "/business/callnos",
    "holiday": OBS + "/business/isholiday",
    "result": OBS + "/business/call/result",
    "midresult": OBS + "/business/push/midresult",
    "discovery": OBS + "/business/interface",
}


def path_setting(name: str) -> str:
    """The environment variable that overrides interface ``name``'s path."""
    return PATH_SETTING + name.upper()
