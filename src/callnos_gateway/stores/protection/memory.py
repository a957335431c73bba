"""Slots and circuit in this process only (``CALLNOS_QUOTA_URL=memory``; tests, one process)."""

from __future__ import annotations

import threading
import time

from callnos_gateway.stores.protection.base import CircuitChange, CircuitRow


class MemoryProtection:
    """A lock, a dict of leases and one row."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, float] = {}
        self._row = CircuitRow()

    def take_slot(self, holder: str, cap: int, lease: float) -> bool:
        with self._lock:
            now = time.time()
            self._slots = {h: end for h, end in self._slots.items() if end > now}
            if len(self._slots) >= cap:
                return False
            self._slots[holder] = now + lease
            return True

    def give_slot(self, holder: str) -> None:
        with self._lock:
            self._slots.pop(holder, None)

    def slots_in_use(self) -> int:
        now = time.time()
        with self._lock:
            return sum(1 for end in self._slots.values() if end > now)

    def circuit(self) -> CircuitRow:
        return self._row

    def change_circuit(self, change: CircuitChange) -> tuple[CircuitRow, CircuitRow]:
        with self._lock:
            before = self._row
            self._row = change(before, time.time()) or before
            return before, self._row
