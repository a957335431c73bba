"""The IETF httpapi ``RateLimit`` and ``RateLimit-Policy`` fields, in structured-field syntax.

As in draft-ietf-httpapi-ratelimit-headers (version 10 and later), each field
is a structured-field List (RFC 9651) of one Item per quota, the Item being
the policy's name as a String:

    RateLimit-Policy: "requests";q=600;w=60, "records";q=20000;qu="records";w=3600
    RateLimit: "requests";r=42;t=17, "records";r=19500;t=3300

``q`` is the quota, ``w`` its window (s), ``r`` what is left, ``t`` the
seconds until the window ends. ``qu`` defaults to ``"requests"``; the records
quota counts call records handed out, so it names its own unit.
Pure: no Flask.
"""

from __future__ import annotations

from collections.abc import Iterable

from callnos_gateway.stores.quotas import QuotaState

POLICY_HEADER, STATE_HEADER = "RateLimit-Policy", "RateLimit"
UNITS = {"records": "records"}  # quota name -> ``qu`` when not "requests"


def policy_field(states: Iterable[QuotaState]) -> str:
    """``RateLimit-Policy``: each quota's size and window."""
    return ", ".join(_policy(state) for state in states)


def state_field(states: Iterable[QuotaState]) -> str:
    """``RateLimit``: what each quota has left, and when its window ends."""
    return ", ".join(f'"{state.name}";r={state.remaining};t={state.reset_seconds}' for state in states)


def _policy(state: QuotaState) -> str:
    unit = f';qu="{UNITS[state.name]}"' if state.name in UNITS else ""
    return f'"{state.name}";q={state.limit.amount}{unit};w={state.limit.get_expiry()}'
