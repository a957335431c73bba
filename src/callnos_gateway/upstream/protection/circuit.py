"""The circuit breaker: after N consecutive failures that say the upstream is unwell, stop calling.

States, kept in the deployment's shared row (``stores.protection``), so every
worker and instance agrees and the upstream gets one trial call, not one per
process:

    closed     calls go through; each unwell outcome adds 1 to ``failures``,
               any answer resets it; ``CALLNOS_BREAKER_FAILURES`` in a row opens it
    open       nothing is sent for ``CALLNOS_BREAKER_COOLDOWN`` s:
               ``503 upstream_unavailable`` with ``Retry-After``
    half_open  the cooldown is over: the first call to claim the trial goes
               through, every other one is refused until it ends; an answer
               closes the circuit, an unwell outcome opens it again

Unwell: the upstream was unreachable, timed out, broke the connection or
answered 5xx. An auth refusal, ``result != 0`` or an unreadable 2xx is an
answer: the upstream is up. A trial whose holder died is given up when its
lease ends, so the circuit cannot stay half-open for good.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from callnos_gateway.errors import (
    TokenWaitTimeout, UpstreamConnectionLost, UpstreamError, UpstreamHeldBack, UpstreamHTTPError,
    UpstreamTimeout, UpstreamUnavailable, UpstreamUnreachable,
)
from callnos_gateway.stores.protection import CircuitRow, ProtectionStore, ProtectionStoreUnavailable
from callnos_gateway.upstream.protection.events import ProtectionEvents

log = logging.getLogger("callnos.circuit")

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
STATE_NUMBERS = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}  # the callnos_gateway_circuit_state gauge
ANSWERED, UNWELL, NEUTRAL = "answered", "unwell", "neutral"
TRIAL_RETRY_AFTER = 1


@dataclass(frozen=True, slots=True)
class Ticket:
    """A call let through: whether it is the trial, and whether the row had failures to reset."""

    trial: bool = False
    clean: bool = True


def state_of(row: CircuitRow, now: float) -> str:
    """The circuit's state at ``now``."""
    if row.open_until is None:
        return CLOSED
    return OPEN if now < row.open_until else HALF_OPEN


def outcome_of(error: UpstreamError) -> str:
    """Whether a failed call says the upstream is unwell, says nothing of it, or was answered."""
    if isinstance(error, (UpstreamUnreachable, UpstreamTimeout, UpstreamConnectionLost)):
        return UNWELL
    if isinstance(error, UpstreamHTTPError) and int(error.extra.get("upstream_status", 0)) >= 500:
        return UNWELL
    if isinstance(error, (TokenWaitTimeout, UpstreamHeldBack)):
        return NEUTRAL  # nothing of ours reached the upstream
    return ANSWERED


class Circuit:
    """Admits calls and settles their outcomes against the shared row."""

    def __init__(self, store: ProtectionStore, failures: int, cooldown: float, trial_lease: float,
                 events: ProtectionEvents) -> None:
        self.store, self.failures, self.cooldown = store, failures, cooldown
        self.trial_lease, self.events = trial_lease, events

    def admit(self) -> Ticket:
        """Let a call through, as the trial if the cooldown is over; raise ``UpstreamUnavailable`` otherwise."""
        try:
            row, now = self.store.circuit(), time.time()
            if state_of(row, now) == CLOSED:
                return Ticket(clean=row.failures == 0)
            if state_of(row, now) == OPEN:
                raise _unavailable(math.ceil(row.open_until - now))  # type: ignore[operator]
            before, after = self.store.change_circuit(self._claim_trial)
        except ProtectionStoreUnavailable as error:
            log.warning("circuit store unavailable (%s); calling the upstream unguarded", error)
            return Ticket(clean=False)
        if after == before:
            raise _unavailable(TRIAL_RETRY_AFTER)
        self.events.transition(HALF_OPEN)
        return Ticket(trial=True, clean=False)

    def recheck(self, ticket: Ticket) -> None:
        """After a wait for a slot: refuse if the circuit opened meanwhile (calls ahead failed)."""
        if ticket.trial:
            return
        try:
            row, now = self.store.circuit(), time.time()
        except ProtectionStoreUnavailable:
            return
        if state_of(row, now) != CLOSED:
            raise _unavailable(math.ceil((row.open_until or now) - now))

    def settle(self, ticket: Ticket, outcome: str) -> None:
        """Record a call's outcome; report a move to another state."""
        if outcome == ANSWERED and ticket.clean:
            return  # closed with no failures counted: nothing to write on the common path
        change = {ANSWERED: self._answered, UNWELL: self._unwell, NEUTRAL: self._neutral}[outcome]
        try:
            before, after = self.store.change_circuit(lambda row, now: change(row, now, ticket.trial))
        except ProtectionStoreUnavailable as error:
            log.warning("circuit store unavailable (%s); this outcome is not counted", error)
            return
        moved = _moved(before, after, reopened=ticket.trial and outcome == UNWELL)
        if moved is not None:
            self.events.transition(moved)
            log.warning("circuit to the upstream now %s", moved)

    def _claim_trial(self, row: CircuitRow, now: float) -> CircuitRow | None:
        if state_of(row, now) != HALF_OPEN or (row.trial_until is not None and row.trial_until > now):
            return None
        return CircuitRow(row.failures, row.open_until, now + self.trial_lease)

    def _answered(self, row: CircuitRow, now: float, trial: bool) -> CircuitRow | None:
        if trial or (row.open_until is None and row.failures):
            return CircuitRow()
        return None  # a late answer while open decides nothing: the trial does

    def _unwell(self, row: CircuitRow, now: float, trial: bool) -> CircuitRow | None:
        if trial:
            return CircuitRow(row.failures, now + self.cooldown, None)
        if row.open_until is not None:
            return None  # a late failure while open or half-open changes nothing
        failures = row.failures + 1
        return CircuitRow(failures, now + self.cooldown if failures >= self.failures else None, None)

    def _neutral(self, row: CircuitRow, now: float, trial: bool) -> CircuitRow | None:
        return CircuitRow(row.failures, row.open_until, None) if trial else None


def _moved(before: CircuitRow, after: CircuitRow, reopened: bool) -> str | None:
    """The state the circuit moved to, if it moved."""
    if before.open_until is None and after.open_until is not None:
        return OPEN
    if before.open_until is not None and after.open_until is None:
        return CLOSED
    return OPEN if reopened else None


def _unavailable(retry_after: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        "The upstream failed repeatedly, so the gateway stopped calling it for a while.", max(1, retry_after)
    )
