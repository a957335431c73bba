"""What the upstream protection keeps per deployment: slots in use and the circuit's row.

Slots are leases: a holder id with an end time. A worker that dies holding
one frees it when the lease ends, so a crash never shrinks the cap for good.
The circuit is one small row changed by read-modify-write under the store's
own atomicity (a SQLite write transaction, a Redis ``WATCH``); its rules live
in ``callnos_gateway.upstream.protection.circuit``, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class ProtectionStoreUnavailable(Exception):
    """The store of slots and circuit state could not be read or written."""


@dataclass(frozen=True, slots=True)
class CircuitRow:
    """The circuit's shared state: consecutive failures, open until when, a trial's lease."""

    failures: int = 0
    open_until: float | None = None  # Unix time; None: closed
    trial_until: float | None = None  # Unix time a running trial's lease ends; None: no trial


CircuitChange = Callable[[CircuitRow, float], "CircuitRow | None"]  # (row, now) -> new row, or None: no change


class ProtectionStore(Protocol):
    """Slots (leases) and the circuit row, shared by every worker or instance."""

    def take_slot(self, holder: str, cap: int, lease: float) -> bool:
        """Take a slot for ``holder`` for ``lease`` s if fewer than ``cap`` are held."""

    def give_slot(self, holder: str) -> None:
        """Free ``holder``'s slot (nothing if its lease already ended)."""

    def slots_in_use(self) -> int:
        """How many slots are held now."""

    def circuit(self) -> CircuitRow:
        """The circuit's row as it is now."""

    def change_circuit(self, change: CircuitChange) -> tuple[CircuitRow, CircuitRow]:
        """Apply ``change`` atomically; return the row before and after."""
