"""Quota texts (``"600/minute"``, ``"20000/hour"``): read and checked at start.

A quota is ``<amount>/<period>`` or ``<amount>/<n> <periods>`` in the syntax of
the ``limits`` package (second, minute, hour, day), which also counts them
(``callnos_gateway.stores.quotas``). Two quotas exist: ``requests`` (every
``/v1`` request costs one) and ``records`` (a call-data request costs its
``batch_size``). ``None`` means unlimited.
"""

from __future__ import annotations

from functools import lru_cache

from limits import RateLimitItem, parse

QUOTA_NAMES = ("requests", "records")
QUOTA_URL_DEFAULT = "sqlite:///var/quotas.sqlite3"
SYNTAX = 'must read like "600/minute" or "20000/hour" (an amount over second, minute, hour or day)'


@lru_cache(maxsize=1024)  # read on every request (api.quotas); a deployment has a few distinct texts
def read_quota(text: str) -> RateLimitItem:
    """Parse one quota text; ``ValueError`` says why it cannot be read."""
    if ";" in text or "," in text:
        raise ValueError(SYNTAX)
    try:
        item = parse(text)
    except ValueError:
        raise ValueError(SYNTAX) from None
    if item.amount < 1:
        raise ValueError("must allow at least 1")
    return item


def quota_problem(text: object) -> str | None:
    """Say why ``text`` is not a quota, or None."""
    try:
        if not isinstance(text, str):
            raise ValueError(SYNTAX)
        read_quota(text)
    except ValueError as error:
        return f"{text!r} {error}"
    return None
