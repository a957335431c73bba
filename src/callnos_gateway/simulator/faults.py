"""Fault specs (``status:503``, ``drop``, ...) and the book of faults to apply.

Why: every failure the gateway must survive (latency, 5xx, auth refusals,
business errors, broken or odd bodies, dropped or reset connections, read
timeouts, trickling bodies) has to be reproducible on demand, per request or
for a whole run, from pytest or over HTTP. This module only parses specs and
decides which fault a request gets; ``delivery`` and ``handler`` act on them.

Spec grammar: ``kind`` or ``kind:value``; targeted form ``endpoint=spec``
(``login``, ``refresh``, ``callnos``, ``tasks``, ``isholiday``, ``result``,
``midresult`` or ``discovery``; ``callnos`` when omitted).
Which fault a request gets: its ``X-Sim-Fault`` header (or an ``X-Request-ID``
starting with ``sim-fault-``) if that targets its endpoint, else the next
pushed fault of the endpoint, else the endpoint's run fault, else ``ok``.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable

from .config import ENDPOINTS

REQUEST_ID_PREFIX = "sim-fault-"
_RESULT_CODE = re.compile(r"[\w.-]{1,32}")
MAX_HUGE_BYTES = 1 << 30


@dataclass(frozen=True)
class Fault:
    """One parsed fault: ``kind`` and its value (ms, s, code, bytes...)."""

    spec: str
    kind: str
    value: float | int | str | None = None

    def takes_records_first(self, endpoint: str) -> bool:
        """Tell whether the normal work (taking records) runs before this fault's answer."""
        if self.kind == "status":  # a 5xx may come after the batch was taken or the result written
            return endpoint in WORKING_ENDPOINTS and int(self.value or 0) >= 500
        return self.kind in DELIVERY_KINDS


def _number(low: float, high: float, cast: Callable[[str], float | int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        value = cast(text)
        if not low <= value <= high:
            raise ValueError(f"must be within {low}..{high}")
        return value

    return parse


def _result_code(text: str) -> str:
    if not _RESULT_CODE.fullmatch(text):
        raise ValueError("must be 1-32 letters, digits, '.', '_' or '-'")
    return text


# kind -> (value parser or None when the kind takes no value, default value)
_KINDS: dict[str, tuple[Callable[[str], float | int | str] | None, float | int | str | None]] = {
    "ok": (None, None),
    "latency": (_number(0, 600_000, float), None),
    "status": (_number(200, 599, int), None),
    "result": (_result_code, None),
    "broken_json": (None, None),
    "wrong_shape": (_number(0, 2, int), 0),
    "huge": (_number(1, MAX_HUGE_BYTES, int), None),
    "drop": (None, None),
    "reset": (None, None),
    "timeout": (_number(0, 3600, float), None),
    "drip": (_number(1, 1 << 30, int), None),
}
# kinds that answer normally, but late, slowly or not at all
DELIVERY_KINDS = frozenset({"ok", "latency", "drop", "reset", "timeout", "drip"})
OK = Fault("ok", "ok")
WORKING_ENDPOINTS = frozenset({"callnos", "result", "midresult"})  # their work changes the upstream


def parse_fault(spec: str) -> Fault:
    """Parse ``kind[:value]``; raise ValueError naming what is wrong."""
    text = (spec or "").strip()
    kind, sep, raw = text.partition(":")
    if kind not in _KINDS:
        raise ValueError(f"unknown fault {text!r}; kinds: {', '.join(_KINDS)}")
    parser, default = _KINDS[kind]
    if parser is None and sep:
        raise ValueError(f"fault {kind!r} takes no value")
    if parser is not None and not sep and default is None:
        raise ValueError(f"fault {kind!r} needs a value: {kind}:<value>")
    try:
        value = parser(raw) if parser is not None and sep else default
    except ValueError as error:
        raise ValueError(f"fault {text!r}: {error}") from None
    return Fault(text, kind, value)


def parse_targeted(text: str, default_endpoint: str = "callnos") -> tuple[str, Fault]:
    """Parse ``[endpoint=]spec`` into (endpoint, fault)."""
    endpoint, sep, spec = text.strip().partition("=")
    if not sep:
        endpoint, spec = default_endpoint, text
    return check_endpoint(endpoint.strip()), parse_fault(spec)


def check_endpoint(endpoint: str) -> str:
    """Return the endpoint name, or raise ValueError if it is not one."""
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; endpoints: {', '.join(ENDPOINTS)}")
    return endpoint


def header_fault(endpoint: str, sim_header: str | None, request_id: str | None) -> Fault | None:
    """Return the fault a request asks for in its headers, if it targets ``endpoint``."""
    text = sim_header
    if not text and request_id and request_id.startswith(REQUEST_ID_PREFIX):
        text = request_id[len(REQUEST_ID_PREFIX):]
    if not text:
        return None
    target, fault = parse_targeted(text)
    return fault if target == endpoint else None


class FaultBook:
    """Pending per-request faults and per-run faults of every endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, deque[Fault]] = {name: deque() for name in ENDPOINTS}
        self._run: dict[str, Fault | None] = dict.fromkeys(ENDPOINTS)

    def push(self, endpoint: str, specs: list[str] | tuple[str, ...]) -> None:
        """Queue faults for the next requests of an endpoint, in order."""
        faults = [parse_fault(spec) for spec in specs]
        with self._lock:
            self._queued[check_endpoint(endpoint)].extend(faults)

    def set_run(self, endpoint: str, spec: str | None) -> None:
        """Apply a fault to every request of an endpoint until cleared with None."""
        fault = parse_fault(spec) if spec is not None else None
        with self._lock:
            self._run[check_endpoint(endpoint)] = fault

    def pick(self, endpoint: str) -> Fault | None:
        """Take the fault for the next request of an endpoint (None: behave)."""
        with self._lock:
            queue = self._queued[endpoint]
            return queue.popleft() if queue else self._run[endpoint]

    def pending(self, endpoint: str) -> int:
        """Count the per-request faults still queued for an endpoint."""
        with self._lock:
            return len(self._queued[check_endpoint(endpoint)])

    def clear(self) -> None:
        """Forget every queued and run fault."""
        with self._lock:
            for queue in self._queued.values():
                queue.clear()
            self._run = dict.fromkeys(ENDPOINTS)
