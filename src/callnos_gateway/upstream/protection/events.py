"""What the upstream protection reports, for metrics; ``upstream`` sits below the metrics, so they are handed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _ignore(*args: object) -> None:
    """Report nowhere."""


@dataclass(frozen=True)
class ProtectionEvents:
    """Callbacks: a slot taken after ``waited`` s, a request refused busy, the circuit moved ``to`` a state."""

    waited: Callable[[float], None] = _ignore
    busy: Callable[[], None] = _ignore
    transition: Callable[[str], None] = _ignore
