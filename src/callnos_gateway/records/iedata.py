"""Read the packed ``ieData`` string of the AICC iSales callnos answer.

The facts are in docs/UPSTREAM.md, the promise made to consumers in
docs/API.md ("The ieData object"). The grammar read here::

    ie_data   = ie_part [ sip_mark sip_part ]
    ie_part   = element *( ";" element )
    element   = name [ ":" pair *( "," pair ) ]      ; split at the first ":"
    pair      = key [ "=" value ]                    ; split at the first "="
    sip_mark  = "sipdatahead" *space ( ":" / "：" )  ; any case, first one wins
    sip_part  = header *( "#%#%" header ) [ "#$#$" ignored ]
    header    = name [ ":" value ]                    ; split at the first ":"

- Everything before the first ``sipdatahead:`` is the IE part. Spaces around
  names, keys and values are trimmed; empty elements, pairs and headers (a
  trailing or doubled separator) are skipped.
- ``callerno:callernumber=N`` (names in any case) gives ``caller_number`` and
  is not kept in ``elements``.
- In the SIP part ``;`` ``,`` ``:`` ``=`` and backslashes are data: only
  ``#%#%`` separates headers and the first ``#$#$`` ends them.

Anything else odd is tolerated and reported in ``warnings`` (full-width
separators, an element without ``:``, a pair without ``=``, a repeated element
or key, a missing end mark, ...) in the order of the text they are about: the
first MAX_WARNINGS verbatim, the rest counted. Parsing never raises. Each
character is looked at a bounded number of times, nearly always by a C-level
``str`` method (split, partition, find, strip), so the time is linear in the
length of the string. Results are plain dicts, ready for orjson.
"""

from collections.abc import Iterable, Mapping
from string import ascii_lowercase, ascii_uppercase
from typing import TypedDict

ELEMENT_SEP = ";"
NAME_SEP = ":"
PAIR_SEP = ","
VALUE_SEP = "="
SIP_MARK = "sipdatahead"
SIP_MARK_COLON = ":"
SIP_MARK_FULL_WIDTH_COLON = "\uff1a"  # "："
SIP_HEADER_SEP = "#%#%"
SIP_END = "#$#$"
SIP_NAME_SEP = ":"
CALLER_ELEMENT = "callerno"
CALLER_KEY = "callernumber"
# Full-width forms the upstream forbids but people type: "；" "：" "，" "＝".
FULL_WIDTH_SEPARATORS = {"\uff1b": ELEMENT_SEP, "\uff1a": NAME_SEP, "\uff0c": PAIR_SEP, "\uff1d": VALUE_SEP}
MAX_WARNINGS = 20  # kept verbatim; the rest are counted in one last warning
MAX_QUOTED = 40  # characters of input quoted in a warning
MAX_QUOTED_REPR = 60  # characters of their repr(), escapes included

_FULL_WIDTH_TABLE = str.maketrans(FULL_WIDTH_SEPARATORS)
_ASCII_LOWER = str.maketrans(ascii_uppercase, ascii_lowercase)


class SipHeader(TypedDict):
    name: str
    value: str


class IeData(TypedDict):
    elements: dict[str, dict[str, str]]
    caller_number: str | None
    sip_headers: list[SipHeader]
    raw: str
    warnings: list[str]


def _quote(text: str) -> str:
    """Quote a piece of input for a warning, cut short so warnings stay small."""
    quoted = repr(text[:MAX_QUOTED])
    if len(quoted) > MAX_QUOTED_REPR:  # escapes such as \x1f made it long
        return quoted[:MAX_QUOTED_REPR] + "..."
    return quoted + "..." if len(text) > MAX_QUOTED else quoted


class _Warnings:
    """Keep the first MAX_WARNINGS warnings verbatim and count the others."""

    __slots__ = ("texts", "dropped")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.dropped = 0

    def add(self, template: str, *quoted: str) -> None:
        # Formatting is skipped once full: hostile input can ask for millions.
        if len(self.texts) < MAX_WARNINGS:
            self.texts.append(template.format(*map(_quote, quoted)))
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        if self.dropped:
            plural = "" if self.dropped == 1 else "s"
            self.texts.append(f"{self.dropped} more warning{plural} not shown")
        return self.texts


def _lower_same_length(text: str) -> str:
    """Lower text so that each index still points at the same character."""
    lower = text.lower()
    if len(lower) != len(text):  # a few letters lower to two chars ("İ")
        lower = text.translate(_ASCII_LOWER)
    return lower


def _find_sip_mark(raw: str) -> tuple[int, int]:
    """Return (start, end) of the first SIP marker, colon included, or (-1, -1)."""
    lower = _lower_same_length(raw)
    size = len(lower)
    start = lower.find(SIP_MARK)
    while start >= 0:
        end = start + len(SIP_MARK)
        while end < size and lower[end].isspace():
            end += 1
        if end < size and lower[end] in (SIP_MARK_COLON, SIP_MARK_FULL_WIDTH_COLON):
            return start, end + 1
        start = lower.find(SIP_MARK, end)  # the mark cannot overlap itself
    return -1, -1


def _parse_pairs(element: str, body: str, warnings: _Warnings) -> dict[str, str]:
    """Read ``key=value,key=value`` into a dict, in order."""
    pairs: dict[str, str] = {}
    for item in body.split(PAIR_SEP):
        key, equals, value = item.partition(VALUE_SEP)
        key = key.strip()
        if not equals:
            if not key:
                continue
            warnings.add("element {}: pair {} has no '='; kept with value ''", element, key)
        elif not key:
            warnings.add("element {}: pair {} has an empty key; kept under ''", element, item.strip())
        if key in pairs:
            warnings.add("element {}: key {} repeated; the later value wins", element, key)
        pairs[key] = value.strip()
    return pairs


def _read_element(item: str, warnings: _Warnings) -> tuple[str, dict[str, str]] | None:
    """Read one ``Name:pairs`` element; None when it is empty."""
    name, colon, body = item.partition(NAME_SEP)
    name = name.strip()
    if not colon:
        if not name:
            return None
        warnings.add("element {} has no ':'; read with no pairs", name)
    elif not name:
        warnings.add("element {} has an empty name; kept under ''", item.strip())
    return name, (_parse_pairs(name, body, warnings) if body else {})


def _read_caller(name: str, pairs: dict[str, str], warnings: _Warnings) -> str | None:
    """Return the callernumber of a callerno element, warning about the rest."""
    number = None
    for key, value in pairs.items():
        if key.lower() != CALLER_KEY:
            warnings.add("element {}: key {} ignored; only 'callernumber' is read", name, key)
            continue
        if number is not None:  # "callernumber" and "CallerNumber" in one element
            warnings.add("element {}: key {} repeated; the later value wins", name, key)
        number = value
    if number is None:
        warnings.add("element {} has no 'callernumber'; caller_number left null", name)
    elif not number:
        warnings.add("element {} has an empty 'callernumber'; caller_number left null", name)
        return None
    return number


def _parse_ie_part(text: str, warnings: _Warnings) -> tuple[dict[str, dict[str, str]], str | None]:
    """Read the IE elements and the caller number from the part before the SIP data."""
    if not text.isascii() and any(c in text for c in FULL_WIDTH_SEPARATORS):
        text = text.translate(_FULL_WIDTH_TABLE)
        warnings.add("full-width separators in the IE part read as half-width ';' ':' ',' '='")
    elements: dict[str, dict[str, str]] = {}
    caller: str | None = None
    caller_seen = False
    for item in text.split(ELEMENT_SEP):
        element = _read_element(item, warnings)
        if element is None:
            continue
        name, pairs = element
        if name.lower() == CALLER_ELEMENT:
            if caller_seen:
                warnings.add("element {} repeated; the later one wins", name)
            caller, caller_seen = _read_caller(name, pairs, warnings), True
            continue
        if name in elements:
            warnings.add("element {} repeated; the later one wins", name)
        elements[name] = pairs
    return elements, caller


def _check_sip_mark(ie_part: str, mark_colon: str, warnings: _Warnings) -> None:
    """Warn about a SIP marker that is odd but still read as one."""
    before = ie_part.rstrip()
    if before and FULL_WIDTH_SEPARATORS.get(before[-1], before[-1]) != ELEMENT_SEP:
        last = before.rpartition(ELEMENT_SEP)[2].strip()
        warnings.add("'sipdatahead:' found inside element {}; the rest read as SIP data", last)
    if mark_colon == SIP_MARK_FULL_WIDTH_COLON:
        warnings.add("SIP marker 'sipdatahead' has a full-width colon; read as ':'")


def _parse_sip_part(text: str, warnings: _Warnings) -> list[SipHeader]:
    """Read the SIP headers after the marker, up to the end mark."""
    body, end, rest = text.partition(SIP_END)
    headers: list[SipHeader] = []
    for item in body.split(SIP_HEADER_SEP):
        name, colon, value = item.partition(SIP_NAME_SEP)
        name = name.strip()
        if not colon:
            if not name:
                continue
            warnings.add("SIP header {} has no ':'; kept with value ''", name)
        elif not name:
            warnings.add("SIP header {} has an empty name; kept under ''", item.strip())
        headers.append({"name": name, "value": value.strip()})
    if not end:
        warnings.add("SIP part has no end mark '#$#$'; headers read to the end")
    elif rest and not rest.isspace():
        warnings.add("text after the SIP end mark '#$#$' ignored: {}", rest.strip())
    return headers


def parse_ie_data(raw: str) -> IeData:
    """Parse the upstream's packed ieData so consumers get JSON, with warnings instead of errors."""
    warnings = _Warnings()
    start, end = _find_sip_mark(raw)
    if start < 0:
        elements, caller = _parse_ie_part(raw, warnings)
        headers: list[SipHeader] = []
    else:
        ie_part = raw[:start]
        elements, caller = _parse_ie_part(ie_part, warnings)
        _check_sip_mark(ie_part, raw[end - 1], warnings)
        headers = _parse_sip_part(raw[end:], warnings)
    return {"elements": elements, "caller_number": caller, "sip_headers": headers,
            "raw": raw, "warnings": warnings.result()}


# The builder: what each token must not contain for the string to read back
# unchanged and without warnings.
_FULL_WIDTH = tuple(FULL_WIDTH_SEPARATORS)
_NAME_FORBIDS = (ELEMENT_SEP, NAME_SEP, *_FULL_WIDTH)
_KEY_FORBIDS = (ELEMENT_SEP, PAIR_SEP, VALUE_SEP, *_FULL_WIDTH)
_VALUE_FORBIDS = (ELEMENT_SEP, PAIR_SEP, *_FULL_WIDTH)
_SIP_NAME_FORBIDS = (SIP_NAME_SEP, SIP_HEADER_SEP, SIP_END)
_SIP_VALUE_FORBIDS = (SIP_HEADER_SEP, SIP_END)
_SIP_VALUE_TAILS = (SIP_HEADER_SEP[:2], SIP_END[:2])


def _checked(text: str, what: str, forbids: tuple[str, ...], *, empty_ok: bool = False) -> str:
    """Return text when it reads back unchanged, else raise ValueError."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    if (not text and not empty_ok) or text != text.strip() or any(sep in text for sep in forbids):
        raise ValueError(f"{what} {text!r} cannot be written into ieData")
    return text


def _format_element(name: str, pairs: Mapping[str, str]) -> str:
    """Write one ``Name:key=value,...`` element."""
    name = _checked(name, "element name", _NAME_FORBIDS)
    if name.lower() == CALLER_ELEMENT:
        raise ValueError("pass the caller number as caller_number, not as an element")
    body = PAIR_SEP.join(_format_pair(key, value) for key, value in pairs.items())
    return name + NAME_SEP + body


def _format_pair(key: str, value: str) -> str:
    """Write one ``key=value`` pair."""
    key = _checked(key, "key", _KEY_FORBIDS)
    return key + VALUE_SEP + _checked(value, "value", _VALUE_FORBIDS, empty_ok=True)


def _format_header(header: SipHeader) -> str:
    """Write one ``name:value`` SIP header."""
    name = _checked(header["name"], "SIP header name", _SIP_NAME_FORBIDS)
    value = _checked(header["value"], "SIP header value", _SIP_VALUE_FORBIDS, empty_ok=True)
    if value.endswith(_SIP_VALUE_TAILS):  # "v#%" + "#%#%" would split at "v"
        raise ValueError(f"SIP header value {value!r} cannot be written into ieData")
    return name + SIP_NAME_SEP + value


def format_ie_data(
    elements: Mapping[str, Mapping[str, str]],
    caller_number: str | None = None,
    sip_headers: Iterable[SipHeader] = (),
) -> str:
    """Build a well-formed ieData string (the inverse of parse_ie_data) for tests and the simulator."""
    parts = [_format_element(name, pairs) for name, pairs in elements.items()]
    if caller_number is not None:
        number = _checked(caller_number, "caller number", _VALUE_FORBIDS)
        parts.append(f"{CALLER_ELEMENT}{NAME_SEP}{CALLER_KEY}{VALUE_SEP}{number}")
    # Separators are not letters, so a "sipdatahead" here lies inside one token.
    if SIP_MARK in _lower_same_length(ELEMENT_SEP.join(parts)):
        raise ValueError("the IE part cannot contain 'sipdatahead'")
    headers = [_format_header(header) for header in sip_headers]
    if headers:
        parts.append(SIP_MARK + SIP_MARK_COLON + SIP_HEADER_SEP.join(headers) + SIP_END)
    return ELEMENT_SEP.join(parts)
