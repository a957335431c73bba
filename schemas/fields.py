"""Custom marshmallow fields for the gateway's two edges.

Inbound, integers are strict (no booleans, floats or numeric strings).
Upstream, fields are lenient: a value of the wrong type becomes a validation
error that the record schema turns into a warning, never a lost record.
"""

from __future__ import annotations

import numbers
from typing import Any

from marshmallow import ValidationError, fields

from adapter.iedata import parse_ie_data


def json_kind(value: Any) -> str:
    """Name a JSON value's type for a message (never its content)."""
    return {dict: "an object", list: "an array", bool: "a boolean"}.get(type(value), type(value).__name__)


class StrictInteger(fields.Integer):
    """An integer that refuses booleans, floats and strings outright."""

    default_error_messages = {"invalid": "Not a valid integer."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return int(value)


class LooseString(fields.Field):
    """Upstream text: strings as sent, numbers as their text, anything else refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValidationError(f"expected a string, got {json_kind(value)}; set to null")


class PhoneNumbers(fields.Field):
    """Called numbers: always a list of strings; a lone string or number is one item."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [str(value)]
        if not isinstance(value, list):
            raise ValidationError(f"expected an array of strings, got {json_kind(value)}; set to []")
        numbers_ = [str(v) for v in value if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        if len(numbers_) != len(value):
            raise ValidationError(
                f"{len(value) - len(numbers_)} item(s) not a string were left out",
                valid_data=numbers_,
            )
        return numbers_


class IeDataField(fields.Field):
    """The packed ieData string, parsed into structured JSON by ``adapter.iedata``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError(f"expected a string, got {json_kind(value)}; set to null")
        return parse_ie_data(value)
