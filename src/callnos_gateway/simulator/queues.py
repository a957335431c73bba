"""Per-task queues of records, each record handed out exactly once.

Why: the real upstream marks every record it answers with as taken, so a
second request never sees it again. Tests of the gateway (no duplicates, no
losses, no blind re-sends) depend on the same rule here. A queue is only a
cursor: records are rebuilt from their position, so a task of 100,000 records
costs one integer until it is read.
"""

from __future__ import annotations

import threading

from .records import TaskKey


class TaskQueues:
    """Cursors of all tasks, created lazily on first use; safe across threads."""

    def __init__(self, records_per_task: int) -> None:
        self._size = records_per_task
        self._next: dict[TaskKey, int] = {}
        self._lock = threading.Lock()

    def take(self, key: TaskKey, count: int) -> range:
        """Take up to ``count`` records off a task; return their positions."""
        with self._lock:
            start = self._next.get(key, 1)
            end = min(start + max(count, 0), self._size + 1)
            self._next[key] = end
        return range(start, end)

    def remaining(self, key: TaskKey) -> int:
        """Return how many records of a task have not been taken yet."""
        with self._lock:
            return self._size + 1 - self._next.get(key, 1)

    def taken(self, key: TaskKey) -> int:
        """Return how many records of a task have been handed out."""
        with self._lock:
            return self._next.get(key, 1) - 1

    def clear(self) -> None:
        """Refill every task: forget every cursor."""
        with self._lock:
            self._next.clear()
