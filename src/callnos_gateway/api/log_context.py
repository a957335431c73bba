"""Every log line written while a request is served carries its request_id and batch_id.

The access line sets them itself; this filter gives the same two fields to
any other line (a retry warning, a token renewal, an idempotency store
problem), so one id finds everything about a request or a batch.
"""

from __future__ import annotations

import logging

from flask import has_request_context

from callnos_gateway.api.request_record import peek

CONTEXT_FIELDS = ("request_id", "batch_id")


class RequestContext(logging.Filter):
    """Add the current request's ids to a record that does not carry them already."""

    def filter(self, record: logging.LogRecord) -> bool:
        facts = peek() if has_request_context() else None
        if facts is not None:
            for name in CONTEXT_FIELDS:
                value = getattr(facts, name)
                if value is not None and getattr(record, name, None) is None:
                    setattr(record, name, value)
        return True
