"""push/midresult (``business/push/midresult``): write an intermediate result. See ``writeback``."""

from __future__ import annotations

from callnos_gateway.upstream.obs.writeback import read, write_back

MIDRESULT = write_back("midresult")

__all__ = ["MIDRESULT", "read"]
