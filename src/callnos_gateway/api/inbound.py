"""Inbound request plumbing: request ids, API keys and the JSON body.

Pure checks on headers and bytes; the views call them, and any failure is a
``RequestError`` that the problem handler answers.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from flask import Request

from callnos_gateway.settings.clients import ANONYMOUS, Client, ClientRing, clients_from_keys
from callnos_gateway.errors import InvalidRequest, PayloadTooLarge, Unauthorized

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,127}")
JSON_TYPES = ("application/json",)


def request_id_from(value: str | None) -> str:
    """Accept a well-formed ``X-Request-ID`` or make a new one (never echo junk)."""
    if value and REQUEST_ID_PATTERN.fullmatch(value):
        return value
    return uuid.uuid4().hex


class KeyRing:
    """Inbound keys: the clients file's, or ``CALLNOS_API_KEYS`` as unnamed clients."""

    def __init__(self, keys: tuple[str, ...] = (), clients: tuple[Client, ...] = ()) -> None:
        self._ring = ClientRing(clients or clients_from_keys(keys))

    @property
    def anonymous(self) -> bool:
        return not len(self._ring)

    def identify(self, presented: str | None) -> Client:
        """Return the client holding the presented key, or raise ``Unauthorized``."""
        if self.anonymous:
            return ANONYMOUS
        if not presented:
            raise Unauthorized("Send a valid key in the X-API-Key header.")
        client = self._ring.find(presented)
        if client is None:
            raise Unauthorized("The X-API-Key is not valid.")
        return client

    def check(self, presented: str | None) -> str:
        """Return the key's short id (for scoping and logs) or raise ``Unauthorized``."""
        return self.identify(presented).key_id


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
