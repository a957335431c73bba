"""Reading the envelope every OBS answer shares: ``{"result": ..., "resultData": ...}``.

Every interface's reader (``callnos`` included, before it hands
``resultData`` to the pure ``records.normalise``) starts here. ``result`` is documented as a string and sent
as a number: ``0`` and ``"0"`` are success, anything else a business failure.
Pure: no Flask, no network.
"""

from __future__ import annotations

from typing import Any

import orjson

from callnos_gateway.errors import UpstreamBadResponse, UpstreamRejected

MESSAGE_KEYS = ("resultMessage", "resultDesc", "message", "errorMessage", "resultMsg")
MAX_MESSAGE = 500


def decode_json(body: bytes) -> Any:
    """Parse the upstream body, translating a JSON error into bad response."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamBadResponse("The upstream answer is not valid JSON.") from None


def check_result(document: Any) -> dict[str, Any]:
    """Check ``result`` is 0 or "0"; return the document (an object)."""
    if not isinstance(document, dict) or "result" not in document:
        raise UpstreamBadResponse("The upstream answer has no 'result'.")
    result = document["result"]
    if isinstance(result, bool) or not isinstance(result, (int, str)):
        raise UpstreamBadResponse("The upstream 'result' is neither a number nor a string.")
    if str(result).strip() != "0":
        raise UpstreamRejected(str(result)[:MAX_MESSAGE], _message_of(document))
    return document


def successful_result_data(document: Any) -> Any:
    """Check ``result`` is 0 or "0" and return ``resultData``."""
    document = check_result(document)
    if "resultData" not in document:
        raise UpstreamBadResponse("The upstream answer has no 'resultData'.")
    return document["resultData"]


def result_object(body: bytes, what: str) -> dict[str, Any]:
    """Decode a successful answer whose ``resultData`` must be an object."""
    data = successful_result_data(decode_json(body))
    if not isinstance(data, dict):
        raise UpstreamBadResponse(f"The upstream {what} answer's 'resultData' is not an object.")
    return data


def _message_of(document: dict[str, Any]) -> str | None:
    for key in MESSAGE_KEYS:
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_MESSAGE]
    return None


def id_text(value: Any) -> str | None:
    """An upstream id as text: strings as sent (trimmed), integers as digits, else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
