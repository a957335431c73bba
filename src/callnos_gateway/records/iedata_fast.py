"""A fast reader for a batch of well-formed ieData strings; anything else goes to ``callnos_gateway.records.iedata``.

Why: the full parser (``callnos_gateway.records.iedata.parse_ie_data``) looks at every token
to find what to warn about: ~6 µs for the upstream's own example, most of a
record's cost on this interpreter, where every Python-level call costs
~100 ns. Nearly every string the upstream sends is well formed, so
``parse_many`` reads a batch's IE parts all at once, in C: it joins them, turns
the join into JSON with five ``str.replace`` (``A:k=v;B:k=v`` becomes
``{"A":{"k":"v"},"B":{"k":"v"}}``) and reads it with one ``orjson.loads``.

The join is taken only when it proves itself to be exactly what the full
parser reads without a warning: no space, quote or backslash in it (nothing
to strip or escape; the backslash is the records' separator), valid JSON with
one object per string, one ``:`` per element (with validity, no element has
none, so none has two), no empty name or key, and ``orjson.dumps`` of what was
read giving back the very same text (so no name or key was repeated). When
the join does not prove itself, the strings are checked one by one (counts,
repeated or empty names and keys, callerno), and any string that fails goes
through the full parser, which stays the reference: ``tests/test_iedata_fast.py`` holds this module to it on the case
file and on generated strings and batches.
"""

from __future__ import annotations

import orjson

from callnos_gateway.records import iedata
from callnos_gateway.records.iedata import IeData, SipHeader

_SEP = "\\"  # joins the IE parts; refused inside them, so it cannot be mistaken
# Applied in this order, each fragment free of the separators replaced after it.
_TO_JSON = ((iedata.PAIR_SEP, '","'), (iedata.NAME_SEP, '":{"'), (iedata.VALUE_SEP, '":"'),
            (iedata.ELEMENT_SEP, '"},"'), (_SEP, '"}},{"'))
_CALLER, _CALLER_KEY = iedata.CALLER_ELEMENT, iedata.CALLER_KEY
_CALLER_MARK = _CALLER + iedata.NAME_SEP
_MARK_END = len(iedata.SIP_MARK)


_ODD = object()  # a callerno element the full parser would warn about


class _SharedHeader(dict):
    """A SIP header read once per distinct SIP part and shared by the records of a batch that carry it.

    Why shared: a copy per record was ~0.5 ms of a 1,000-record answer (made,
    then freed). Why safe: it refuses every change, so no record can alter
    another's; it equals, serialises (orjson) and copies (``copy``,
    ``pickle``, ``dataclasses.asdict``) as the plain dict the full parser gives.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a SIP header shared by the records of a batch cannot be changed")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple:
        return dict, (dict(self),)


def parse_ie_data(raw: str) -> IeData:
    """``callnos_gateway.records.iedata.parse_ie_data`` of one string, by the fast reader when it can."""
    return parse_many([raw])[0]


def parse_many(texts: list[str]) -> list[IeData]:
    """``[callnos_gateway.records.iedata.parse_ie_data(text) for text in texts]``, faster when they are well formed."""
    results: list[IeData | None] = [None] * len(texts)
    batch: list[tuple[int, str, str, list[SipHeader]]] = []  # index, raw, IE part, SIP headers
    sip_memo: dict[str, tuple[SipHeader, ...] | None] = {}
    for index, raw in enumerate(texts):
        split = _split(raw, sip_memo)
        if split is None:
            results[index] = iedata.parse_ie_data(raw)
        elif split[0]:
            batch.append((index, raw, *split))
        else:
            results[index] = _result(raw, {}, None, split[1])
    _read_batch(batch, results)
    return results  # type: ignore[return-value]  # every index is filled


def _read_batch(batch: list, results: list, retry: bool = True) -> None:
    """Fill ``results`` for the batch: all at once when the join proves itself.

    When it does not, the strings whose counts already show them odd go to the
    full parser, the others are joined once more and each is then checked on
    its own (a repeated or empty name or key); if even that join is not JSON,
    every string of it goes to the full parser.
    """
    if not batch:
        return
    read = _elements_of([ie for _, _, ie, _ in batch])
    if read is None:
        agree = [retry and _counts_agree(ie) for _, _, ie, _ in batch]
        for (index, raw, _, _), kept in zip(batch, agree):
            if not kept:
                results[index] = iedata.parse_ie_data(raw)
        _read_batch([one for one, kept in zip(batch, agree) if kept], results, retry=False)
        return
    _fill(batch, *read, results)


def _fill(batch: list, elements: list[dict], proven: bool, caller_marks: int, results: list) -> None:
    """Put each string's result in ``results``: from the join, or from the full parser if it is odd."""
    taken = [found.pop(_CALLER, None) for found in elements]  # callerno is not an element of the result
    callers = [None if pairs is None else (pairs.get(_CALLER_KEY) if len(pairs) == 1 else None) or _ODD
               for pairs in taken]
    if proven and caller_marks == len(callers) - callers.count(None):
        check = None  # the join proved every string
    else:
        check = _caller_plain if proven else _alone_plain
    for (index, raw, ie, headers), found, caller in zip(batch, elements, callers):
        if caller is _ODD or (check is not None and not check(ie, found, caller is not None)):
            results[index] = iedata.parse_ie_data(raw)
        else:
            results[index] = {"elements": found, "caller_number": caller, "sip_headers": headers, "raw": raw,
                              "warnings": []}


def _counts_agree(ie: str) -> bool:
    """One ':' per element and one '=' per pair, as a well-formed IE part has."""
    elements = ie.count(iedata.ELEMENT_SEP) + 1
    return ie.count(iedata.NAME_SEP) == elements and ie.count(iedata.VALUE_SEP) == ie.count(iedata.PAIR_SEP) + elements


def _caller_plain(ie: str, elements: dict[str, dict[str, str]], has_caller: bool) -> bool:
    """One IE part of a proven join whose ``callerno:`` count did not add up: it holds only the one taken out."""
    return ie.lower().count(_CALLER_MARK) == has_caller


def _alone_plain(ie: str, elements: dict[str, dict[str, str]], has_caller: bool) -> bool:
    """One IE part of a join that was JSON but not proven: no name or key repeated or empty, one plain callerno."""
    return (len(elements) + has_caller == ie.count(iedata.ELEMENT_SEP) + 1
            and sum(map(len, elements.values())) + has_caller == ie.count(iedata.VALUE_SEP)
            and _caller_plain(ie, elements, has_caller)
            and not (ie.startswith(iedata.NAME_SEP) or ";:" in ie or ":=" in ie or ",=" in ie))


def _result(raw: str, elements: dict, caller: str | None, headers: list[SipHeader]) -> IeData:
    return {"elements": elements, "caller_number": caller, "sip_headers": headers, "raw": raw, "warnings": []}


def _split(raw: str, sip_memo: dict) -> tuple[str, list[SipHeader]] | None:
    """(IE part without its closing ';', SIP headers), or None if the string is not plain.

    ``sip_memo`` keeps each SIP part's headers for the rest of the batch (calls
    of one task tend to share them); every string gets a list of its own,
    holding the batch's read-only headers (``_SharedHeader``).
    """
    if not raw.isascii():  # full-width separators, non-ASCII spaces: the full parser's job
        return None
    start = raw.lower().find(iedata.SIP_MARK)
    if start < 0:
        return None if " " in raw else (raw, [])
    end = start + _MARK_END
    if raw[end:end + 1] != iedata.NAME_SEP:
        return None  # spaces before the colon, or "sipdatahead" inside a value: let the full parser judge
    ie = raw[:start]
    if ie and (ie[-1] != iedata.ELEMENT_SEP or " " in ie):
        return None  # the marker inside an element, or spaces to strip
    sip = raw[end + 1:]
    pairs = sip_memo.get(sip, _ODD)
    if pairs is _ODD:
        pairs = sip_memo[sip] = _sip_headers(sip)
    if pairs is None:
        return None
    return ie[:-1], list(pairs)


def _elements_of(parts: list[str]) -> tuple[list[dict[str, dict[str, str]]], bool, int] | None:
    """The elements of each IE part (callerno still in), read in one go, whether the join proved itself,
    and how many ``callerno:`` (any case) it holds.

    None when the join is not JSON with one object per part and one ':' per
    element; then what was read may not line up with the parts at all.
    """
    joined, count = _SEP.join(parts), len(parts)
    if joined.count(_SEP) != count - 1 or '"' in joined:
        return None
    if joined.count(iedata.NAME_SEP) != joined.count(iedata.ELEMENT_SEP) + count:
        return None
    text = joined
    for separator, fragment in _TO_JSON:
        text = text.replace(separator, fragment)
    text = '[{"' + text + '"}}]'
    try:
        found = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if len(found) != count:
        return None
    # '"":' is an empty name or key; a round trip that differs, a repeated one folded away.
    proven = '"":' not in text and orjson.dumps(found) == text.encode()
    return found, proven, joined.lower().count(_CALLER_MARK)


def _sip_headers(text: str) -> tuple[SipHeader, ...] | None:
    """The SIP headers up to the end mark (read-only, to be shared); None if the full parser would warn about them."""
    body, end, rest = text.partition(iedata.SIP_END)
    if not end or (rest and not rest.isspace()):
        return None
    headers = []
    for item in body.split(iedata.SIP_HEADER_SEP):
        name, colon, value = item.partition(iedata.SIP_NAME_SEP)
        name = name.strip()
        if not colon:
            if name:
                return None
            continue  # an empty header: skipped without a word
        if not name:
            return None
        headers.append(_SharedHeader(name=name, value=value.strip()))
    return tuple(headers)
