"""Inbound request plumbing: request ids, API keys and the JSON body.

Pure checks on headers and bytes; the views call them, and any failure is a
``RequestError`` that the problem handler answers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

import orjson
from flask import Request

from adapter.errors import InvalidRequest, PayloadTooLarge, Unauthorized

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,127}")
JSON_TYPES = ("application/json",)


def request_id_from(value: str | None) -> str:
    """Accept a well-formed ``X-Request-ID`` or make a new one (never echo junk)."""
    if value and REQUEST_ID_PATTERN.fullmatch(value):
        return value
    return uuid.uuid4().hex


class KeyRing:
    """Inbound API keys, compared as SHA-256 digests in constant time."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._digests = tuple(_digest(key) for key in keys)

    @property
    def anonymous(self) -> bool:
        return not self._digests

    def check(self, presented: str | None) -> str | None:
        """Return a short key id (for scoping and logs) or raise ``Unauthorized``."""
        if self.anonymous:
            return "anonymous"
        if not presented:
            raise Unauthorized("Send a valid key in the X-API-Key header.")
        digest = _digest(presented)
        match = False
        for known in self._digests:
            match |= hmac.compare_digest(digest, known)
        if not match:
            raise Unauthorized("The X-API-Key is not valid.")
        return digest.hex()[:12]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def json_object_from(request: Request) -> dict[str, Any]:
    """Read the body as one JSON object, or raise ``InvalidRequest`` saying why."""
    if request.mimetype not in JSON_TYPES and not request.mimetype.endswith("+json"):
        raise InvalidRequest("The body must be JSON, sent with Content-Type: application/json.")
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(raw) >= limit:
        # A chunked body is cut at the limit by werkzeug, not refused: refuse it here.
        raise PayloadTooLarge(f"The body is over the {limit}-byte limit.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest("The body is not valid JSON (UTF-8, at most 1024 levels deep, 64-bit numbers).") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return data
