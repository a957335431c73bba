"""Custom marshmallow fields for the gateway's two edges.

Inbound, integers are strict (no booleans, floats or numeric strings).
Upstream, fields are lenient: a value of the wrong type becomes a validation
error that the record schema turns into a warning, never a lost record.

Each upstream field also names a ``plain`` function: its coercion of just the
values it takes without a word (a string, a number, a list of them), raising
``NotPlain`` for anything else. The record fast path (``callnos_gateway.records.record_plan``)
runs those without marshmallow; a record with any value they refuse goes
through the schema, whose ``_deserialize`` methods stay the reference that
``tests/test_normalise_fastpath.py`` holds the fast path to. ``IeDataField``
also names ``plain_batch``, so the plan reads a batch's ieData strings together
(``callnos_gateway.records.iedata_fast``); its ``_deserialize`` keeps the full parser.
"""

from __future__ import annotations

import numbers
import re
from typing import Any

from marshmallow import ValidationError, fields

from callnos_gateway.records import iedata, iedata_fast
from callnos_gateway.records.iedata import IeData


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


class NotPlain(Exception):
    """A value a field's ``plain`` coercion leaves to its full, warning ``_deserialize``."""


_NUMBERS = (int, float)  # exact types: a bool is never a number here


def plain_text(value: Any) -> str:
    """A string as sent, or a number as its text."""
    if type(value) is str:
        return value
    if type(value) in _NUMBERS:
        return str(value)
    raise NotPlain


plain_text.keeps_str = True  # a str comes back as it is: the record plan skips the call for one


def plain_numbers(value: Any) -> list[str]:
    """A list of strings or numbers as strings, or a lone one as a one-item list."""
    if type(value) is list:
        for item in value:
            if type(item) is not str:
                return [plain_text(item) for item in value]
        return list(value)
    return [plain_text(value)]


def plain_ie_data(value: Any) -> IeData:
    """An ieData string (or a number, as its text) parsed."""
    return iedata_fast.parse_ie_data(value if type(value) is str else plain_text(value))


class LooseString(fields.Field):
    """Upstream text: strings as sent, numbers as their text, anything else refused."""

    plain = staticmethod(plain_text)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValidationError(f"expected a string, got {json_kind(value)}; set to null")


class PhoneNumbers(fields.Field):
    """Called numbers: always a list of strings; a lone string or number is one item."""

    plain = staticmethod(plain_numbers)

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
    """The packed ieData string, parsed into structured JSON by ``callnos_gateway.records.iedata``."""

    plain = staticmethod(plain_ie_data)
    plain_batch = (plain_text, iedata_fast.parse_many)  # each value's text, then a batch's strings read together

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError(f"expected a string, got {json_kind(value)}; set to null")
        return iedata.parse_ie_data(value)  # the full parser: the reference the fast paths are held to


class QueryInteger(fields.Integer):
    """An integer in a query string: decimal digits only (no sign, spaces, decimals or words)."""

    default_error_messages = {"invalid": "Not a valid integer."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise self.make_error("invalid")
        return int(value)


class Rfc3339DateTime(fields.AwareDateTime):
    """An RFC 3339 date-time with its offset (``2026-03-01T09:30:00+08:00``, ``...Z``)."""

    PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
    default_error_messages = {"invalid": "Not an RFC 3339 date-time with an offset, such as 2026-03-01T09:30:00+08:00."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any):
        if not isinstance(value, str) or not self.PATTERN.fullmatch(value):
            raise self.make_error("invalid")
        text = value.upper().replace("Z", "+00:00")
        whole, dot, fraction = text[:19], text[19:20], text[20:]
        if dot == ".":  # fromisoformat takes at most 6 fraction digits
            digits, offset = fraction[:-6], fraction[-6:]
            text = f"{whole}.{digits[:6].ljust(6, '0')}{offset}"
        return super()._deserialize(text, attr, data, **kwargs)
