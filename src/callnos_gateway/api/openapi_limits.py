"""Limits that come from settings, stated in the OpenAPI document.

Why: the request schema is a class, documented once, but ``batch_size``'s
upper bound is ``CALLNOS_MAX_BATCH`` of this deployment. A document without
it allows requests the gateway refuses (a schema-driven client or fuzzer
finds them at once); so the app states the bound it enforces.
"""

from __future__ import annotations

from apispec import APISpec

from callnos_gateway.settings import Settings

CALL_DATA_REQUEST = "CallDataRequest"


def document_limits(spec: APISpec, settings: Settings) -> None:
    """``batch_size``: minimum 1, maximum ``CALLNOS_MAX_BATCH``."""
    batch_size = spec.components.schemas[CALL_DATA_REQUEST]["properties"]["batch_size"]
    batch_size.update(minimum=1, maximum=settings.max_batch)
