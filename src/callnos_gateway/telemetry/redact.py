"""Keep secrets out of every log line, whatever code wrote it.

The gateway never formats a header, a body or a setting's secret into a log
message; this filter is the second line of defence for when some code (ours,
a library's, a traceback) does anyway. It sits on the log handlers, so it sees
every record of the app, gunicorn and libraries alike, and rewrites any
configured secret (password, static token, inbound API keys) and any
``Bearer <token>`` to ``[REDACTED]`` in the message, the extra fields, the
traceback and the stack.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET = 4  # shorter values would mask ordinary words; no real secret is this short
BEARER = r"(?i:(?<=bearer )[^\s\"',;]+)"
STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern = re.compile(BEARER)


def remember(*secrets: str | None) -> None:
    """Add secrets to mask from now on (empty and very short values are ignored)."""
    global _pattern
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= MIN_SECRET)
        alternatives = [re.escape(s) for s in sorted(_secrets, key=len, reverse=True)]
        _pattern = re.compile("|".join([BEARER, *alternatives]))


def scrub(text: str) -> str:
    """Return ``text`` with every known secret and bearer token masked."""
    return _pattern.sub(MASK, text)


def _scrub_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if depth < 3 and isinstance(value, dict):
        return {k: _scrub_value(v, depth + 1) for k, v in value.items()}
    if depth < 3 and isinstance(value, (list, tuple)):
        return type(value)(_scrub_value(v, depth + 1) for v in value)
    return value


class RedactSecrets(logging.Filter):
    """A handler filter that masks secrets in place; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):
            record.msg = _scrub_value(record.msg)
        else:
            record.msg, record.args = scrub(record.getMessage()), ()
        if record.exc_info:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        for name in _extra_names(record):
            setattr(record, name, _scrub_value(getattr(record, name)))
        return True


def _extra_names(record: logging.LogRecord) -> Iterable[str]:
    """Attributes a caller added (``extra=``), plus the texts logging derived."""
    extras = [name for name in vars(record) if name not in STANDARD_ATTRS]
    return [*extras, "exc_text", "stack_info"]
