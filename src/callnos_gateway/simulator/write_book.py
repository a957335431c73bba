"""Every write-back the simulator accepted, and the duplicates among them.

Why: the gateway promises that no result is written twice. A test proves it
on the upstream side: a second final result for a record, or an intermediate
write identical to an earlier one, counts as a duplicate; ``/_sim/stats``
shows per task the records taken, the final results written and the records
still waiting for one.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

_KEPT = 1000  # last writes kept for inspection


class WriteBook:
    """Accepted writes: final results per record, intermediate bodies, duplicates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every write."""
        with self._lock:
            self._finals: dict[str, set[str]] = {}
            self._seen_mid: set[str] = set()
            self._counts = {"result_ok": 0, "midresult_ok": 0, "writes_refused": 0, "duplicates": 0}
            self._by_task_duplicates: dict[str, int] = {}
            self._last: deque[dict[str, Any]] = deque(maxlen=_KEPT)

    def record(self, endpoint: str, task: str, payload: dict[str, Any]) -> None:
        """Keep an accepted write; count it as a duplicate if it is one."""
        with self._lock:
            self._counts[endpoint + "_ok"] += 1
            self._last.append({"endpoint": endpoint, **payload})
            if endpoint == "result":
                records = self._finals.setdefault(task, set())
                duplicate = payload["uniqueId"] in records
                records.add(payload["uniqueId"])
            else:
                fingerprint = json.dumps(payload, sort_keys=True)
                duplicate = fingerprint in self._seen_mid
                self._seen_mid.add(fingerprint)
            if duplicate:
                self._counts["duplicates"] += 1
                self._by_task_duplicates[task] = self._by_task_duplicates.get(task, 0) + 1

    def refused(self) -> None:
        """Count a write refused for its content."""
        with self._lock:
            self._counts["writes_refused"] += 1

    def snapshot(self, taken_by_task: dict[str, int]) -> dict[str, Any]:
        """Counts, the last writes, and per task: taken, final results, waiting, duplicates."""
        with self._lock:
            names = set(taken_by_task) | set(self._finals)
            tasks = {name: self._task(name, taken_by_task.get(name, 0)) for name in sorted(names)}
            return {**self._counts, "per_task": tasks, "last_writes": list(self._last)}

    def _task(self, name: str, taken: int) -> dict[str, int]:
        finished = len(self._finals.get(name, ()))
        return {"taken": taken, "final_results": finished, "waiting": taken - finished,
                "duplicates": self._by_task_duplicates.get(name, 0)}
