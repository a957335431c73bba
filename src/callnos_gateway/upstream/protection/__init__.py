"""Protecting the upstream: a concurrency cap and a circuit breaker around every business call.

``Guard.passage`` wraps one ``Caller.call`` (token, send, a read's one retry):
the circuit admits it (or ``503 upstream_unavailable``), then it waits for a
slot (or ``503 upstream_busy``) and, if it had to wait, asks the circuit again:
the calls it waited behind may have opened it. The slot is held until the
call ends, and its outcome goes to the circuit. Every refusal happens before
anything is sent.

Login and refresh take no slot of their own: they run inside the slot of the
business call that needed them, so the cap bounds them too, and a login can
never wait behind calls that wait for its token (no deadlock). The token
store's renew lock already keeps them to one at a time per deployment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from callnos_gateway.errors import UpstreamError
from callnos_gateway.settings import Settings
from callnos_gateway.stores.protection import ProtectionStore, open_protection_store
from callnos_gateway.upstream.protection.circuit import ANSWERED, NEUTRAL, Circuit, Ticket, outcome_of
from callnos_gateway.upstream.protection.events import ProtectionEvents
from callnos_gateway.upstream.protection.slots import Slots

__all__ = ["Guard", "ProtectionEvents", "lease_for"]
LEASE_MARGIN = 5.0


def lease_for(settings: Settings) -> float:
    """How long a slot or a trial may be held: a call lasts at most two total timeouts, plus a margin."""
    return 2 * (settings.total_timeout or settings.read_timeout) + settings.connect_timeout + LEASE_MARGIN


class Guard:
    """The cap and the breaker of one deployment, over the store ``CALLNOS_QUOTA_URL`` names."""

    def __init__(self, settings: Settings, events: ProtectionEvents | None = None,
                 store: ProtectionStore | None = None) -> None:
        events = events or ProtectionEvents()
        self.store = store or open_protection_store(settings.quota_url or "memory")
        lease = lease_for(settings)
        self.circuit = Circuit(self.store, settings.breaker_failures, settings.breaker_cooldown, lease, events)
        self.slots = Slots(self.store, settings.upstream_concurrency, settings.upstream_queue_timeout, lease, events)

    @contextlib.contextmanager
    def passage(self) -> Iterator[None]:
        """Admit one call, hold a slot while it runs, and settle its outcome with the circuit."""
        ticket = self.circuit.admit()
        holder = self._slot(ticket)
        outcome = NEUTRAL
        try:
            yield
            outcome = ANSWERED
        except UpstreamError as error:
            outcome = outcome_of(error)
            raise
        finally:
            self.circuit.settle(ticket, outcome)  # before the slot is free: the next call sees this outcome
            self.slots.give_back(holder)

    def _slot(self, ticket: Ticket) -> str | None:
        """A slot for an admitted call; one that waited asks the circuit again (calls ahead may have opened it)."""
        holder = None
        try:
            holder, waited = self.slots.take()
            if waited:
                self.circuit.recheck(ticket)
        except UpstreamError:
            self.slots.give_back(holder)
            self.circuit.settle(ticket, NEUTRAL)
            raise
        return holder
