"""Counters of what the fake upstream received and handed out.

Why: gateway tests assert on the upstream side of the wire (how many logins,
whether a batch was taken twice, which headers were forwarded, that a read
timeout lost records rather than duplicating them), so the simulator keeps
thread-safe counts that a test can snapshot in-process or over ``/_sim/stats``.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Iterable

from .records import TaskKey

_COUNTERS = (
    "login", "refresh", "callnos", "callnos_ok", "callnos_unauthorized",
    "records_out", "records_taken", "internal_errors",
    "tasks", "isholiday", "result", "midresult", "discovery", "business_unauthorized",
    "in_flight", "max_in_flight",  # upstream calls being answered now, and the most at once since reset
)
_AUTH_NAMES = ("authorization", "authentication")


class Stats:
    """Thread-safe counters; ``snapshot()`` gives a deep copy."""

    def __init__(self, auth_header: str = "Authorization") -> None:
        self._lock = threading.Lock()
        self._auth_names = set(_AUTH_NAMES) | {auth_header.lower()}
        self._data: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            in_flight = self._data.get("in_flight", 0)
            self._data = dict.fromkeys(_COUNTERS, 0)
            self._data["in_flight"] = in_flight  # calls still running when reset must still leave
            self._data.update(
                by_task={}, last_headers={}, last_login_headers={}, last_headers_by_endpoint={},
                login_auth_headers={}, faults_applied={},
            )

    def request(self, endpoint: str, headers: Iterable[tuple[str, str]], fault: str | None) -> None:
        """Count a request to an upstream endpoint and remember its headers."""
        lowered = {name.lower(): value for name, value in headers}
        with self._lock:
            self._data[endpoint] += 1
            if fault is not None:
                applied = self._data["faults_applied"]
                applied[fault] = applied.get(fault, 0) + 1
            self._data["last_headers_by_endpoint"][endpoint] = lowered
            if endpoint == "callnos":
                self._data["last_headers"] = lowered
            elif endpoint == "login":
                self._remember_login(lowered)

    def _remember_login(self, lowered: dict[str, str]) -> None:
        self._data["last_login_headers"] = lowered
        seen = self._data["login_auth_headers"]
        for name in self._auth_names.intersection(lowered):
            seen[name] = seen.get(name, 0) + 1

    def enter(self) -> None:
        """A call to an upstream endpoint began: count it in flight (and the most at once)."""
        with self._lock:
            self._data["in_flight"] += 1
            self._data["max_in_flight"] = max(self._data["max_in_flight"], self._data["in_flight"])

    def leave(self) -> None:
        """A call to an upstream endpoint ended (answered, failed or dropped)."""
        with self._lock:
            self._data["in_flight"] -= 1

    def taken(self, key: TaskKey, count: int) -> None:
        """Count records taken off a task's queue."""
        name = ":".join(map(str, key))
        with self._lock:
            self._data["records_taken"] += count
            self._data["by_task"][name] = self._data["by_task"].get(name, 0) + count

    def written(self, records: int, success: bool, sign: int = 1) -> None:
        """Count a callnos answer as written (``sign=-1``: withdraw, the write failed)."""
        with self._lock:
            self._data["records_out"] += sign * records
            self._data["callnos_ok"] += sign * int(success)

    def bump(self, counter: str) -> None:
        """Add one to a plain counter (``callnos_unauthorized``, ``business_unauthorized``, ``internal_errors``)."""
        with self._lock:
            self._data[counter] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return a copy of every counter, safe to keep and compare."""
        with self._lock:
            return copy.deepcopy(self._data)
