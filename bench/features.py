"""The optional features whose cost the end-to-end bench shows, one row each.

The gateway runs with every feature at its default (``gateway``, the row the
targets judge). Each entry below starts one more gateway, same config and
upstream, with its environment changed so that one feature is off (or on,
for one that is off by default), and takes its turn with the others in every
round. Its row shows its CPU per request beside the default gateway's: the
difference is what that feature costs. A feature added later adds one line
here. Traces have a section of their own (``python -m bench tracing``): on,
they need a receiver, which that section runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One gateway beside the default: a name for its row, and the settings it changes."""

    name: str
    env: dict[str, str]

    @property
    def target(self) -> str:
        """Its target name in the bench's results (``gateway_`` + a slug of the name)."""
        return "gateway_" + re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


VARIANTS: tuple[Variant, ...] = (
    Variant("ledger off", {"CALLNOS_LEDGER": "off"}),  # on by default: what keeping the books costs
    Variant("quotas on", {"CALLNOS_QUOTA_REQUESTS": "1000000/minute",  # unset by default: what counting costs
                          "CALLNOS_QUOTA_RECORDS": "1000000000/hour"}),
    # The cap and breaker are always on; in memory they skip the shared SQLite store (what sharing costs).
    Variant("cap and breaker in memory", {"CALLNOS_QUOTA_URL": "memory"}),
)
