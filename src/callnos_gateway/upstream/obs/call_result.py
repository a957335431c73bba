"""call/result (``business/call/result``): write a call's final result. See ``writeback``."""

from __future__ import annotations

from callnos_gateway.upstream.obs.writeback import read, write_back

RESULT = write_back("result")

__all__ = ["RESULT", "read"]
