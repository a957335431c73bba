"""A fast reader for well-formed ``ieData`` strings, the common case.

Why: the full reader (``adapter.iedata``) walks every pair in Python and was
the largest cost of a batch. Most strings the upstream sends need no warning,
and for those the work can be left to C:

- the IE part ``A:k=v,k=v;B:k=v``, when ASCII with no space, quote or
  backslash, becomes ``{"A":{"k":"v","k":"v"},"B":{"k":"v"}}`` by four byte
  replacements, and one ``orjson.loads`` builds the dicts;
- the SIP part is cut with ``str`` methods; it has a few headers at most.

``read_plain`` declines (returns None) anything the full reader would warn
about or might read otherwise, and the full reader then reads it; it never
guesses. ``tests/test_normalise_fastpath.py`` holds the two to the same
result for every string.
"""

from __future__ import annotations

import orjson

from adapter.iedata_grammar import (
    CALLER_ELEMENT,
    CALLER_KEY,
    ELEMENT_SEP,
    NAME_SEP,
    PAIR_SEP,
    SIP_END,
    SIP_HEADER_SEP,
    SIP_MARK,
    SIP_MARK_COLON,
    SIP_NAME_SEP,
    VALUE_SEP,
    IeData,
    SipHeader,
)

# Each separator's JSON, applied in this order: no later JSON text holds a
# separator that an earlier replacement handles.
_PAIR_JSON = (PAIR_SEP.encode(), b'","')
_ELEMENT_JSON = (ELEMENT_SEP.encode(), b'"},"')
_NAME_JSON = (NAME_SEP.encode(), b'":{"')
_VALUE_JSON = (VALUE_SEP.encode(), b'":"')
# An empty element name (";:k=v") or key (":=v", ",=v"): the full reader warns.
_EMPTY_NAME = ELEMENT_SEP + NAME_SEP
_EMPTY_KEYS = (NAME_SEP + VALUE_SEP, PAIR_SEP + VALUE_SEP)


def read_plain(raw: str) -> IeData | None:
    """Read a string that needs no warning, as the full reader would; None for any other."""
    lower = raw.lower()
    if len(lower) != len(raw):  # a letter lowering to two ("İ") would shift positions
        return None
    start = lower.find(SIP_MARK)
    ie_part, headers = raw, []
    if start >= 0:
        ie_part, sip_part = raw[:start], raw[start + len(SIP_MARK):]
        if not sip_part.startswith(SIP_MARK_COLON) or (ie_part and not ie_part.endswith(ELEMENT_SEP)):
            return None  # "sipdatahead" not followed by ":", or not after a ";": the full reader decides
        headers = _read_sip_part(sip_part[len(SIP_MARK_COLON):])
    read = _read_ie_part(ie_part, lower) if headers is not None else None
    if read is None:
        return None
    return {"elements": read[0], "caller_number": read[1], "sip_headers": headers, "raw": raw, "warnings": []}


def _read_sip_part(text: str) -> list[SipHeader] | None:
    """Read ``name:value#%#%name:value#$#$``; None for a missing end mark, text after it, or an odd header."""
    body, end, rest = text.partition(SIP_END)
    if not end or (rest and not rest.isspace()):
        return None
    headers: list[SipHeader] = []
    for item in body.split(SIP_HEADER_SEP):
        name, colon, value = item.partition(SIP_NAME_SEP)
        name = name.strip()
        if not (name and colon):
            if name or colon:  # a header without ":" or without a name
                return None
            continue  # an empty header: skipped without a word
        headers.append({"name": name, "value": value.strip()})
    return headers


def _read_ie_part(text: str, lower: str) -> tuple[dict[str, dict[str, str]], str | None] | None:
    """Read the elements and caller number before the SIP mark; None if any needs a warning."""
    if text.endswith(ELEMENT_SEP):  # the usual ";" before "sipdatahead:"
        text = text[:-1]
    if not text:
        return {}, None
    elements = _load_elements(text)
    if elements is None:
        return None
    if lower.find(CALLER_ELEMENT, 0, len(text)) < 0:
        return elements, None
    return _take_caller(elements)


def _load_elements(text: str) -> dict[str, dict[str, str]] | None:
    """Read ``A:k=v,k=v;B:k=v`` with one orjson call, or None.

    Without spaces, quotes and backslashes (and in ASCII, whose other spaces
    are control characters, which JSON refuses), every JSON string is one
    name, key or value exactly as the full reader cuts and trims it, and the
    separators alone make the structure. Valid JSON with one top-level name
    per element then has one ":" per element, so every value is a string;
    as many pairs as "=" means no repeated key or element was overwritten.
    """
    if not _may_be_plain(text):
        return None
    data = text.encode().replace(*_PAIR_JSON).replace(*_ELEMENT_JSON).replace(*_NAME_JSON).replace(*_VALUE_JSON)
    try:
        elements = orjson.loads(b'{"' + data + b'"}}')
    except orjson.JSONDecodeError:  # an element without ":", a pair without "=", ...
        return None
    if len(elements) != text.count(ELEMENT_SEP) + 1 or sum(map(len, elements.values())) != text.count(VALUE_SEP):
        return None
    return elements


def _may_be_plain(text: str) -> bool:
    """Rule out, cheaply, what JSON would read otherwise than the full reader, and empty tokens."""
    if not text.isascii() or " " in text or '"' in text or "\\" in text:
        return False
    return not (text.startswith(NAME_SEP) or _EMPTY_NAME in text or _EMPTY_KEYS[0] in text or _EMPTY_KEYS[1] in text)


def _take_caller(elements: dict[str, dict[str, str]]) -> tuple[dict[str, dict[str, str]], str | None] | None:
    """Move the one ``callerno:callernumber=N`` element out; None if the full reader would warn."""
    names = [name for name in elements if name.lower() == CALLER_ELEMENT]
    if not names:
        return elements, None  # "callerno" was only part of some other token
    if len(names) > 1:
        return None
    pairs = elements.pop(names[0])
    if len(pairs) != 1:
        return None
    ((key, number),) = pairs.items()
    if key.lower() != CALLER_KEY or not number:
        return None
    return elements, number
