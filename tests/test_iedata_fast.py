"""callnos_gateway.records.iedata_fast gives exactly the full parser's result, for single strings and for batches.

The full parser (``callnos_gateway.records.iedata.parse_ie_data``) is the reference. Batches
matter: the fast reader joins a batch's strings, so a string could only be
misread through its neighbours; batches here mix well-formed strings with
separator soup, quotes, backslashes (the join's own separator) and every
callerno spelling.
"""

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callnos_gateway.records import iedata_fast
from callnos_gateway.records.iedata import format_ie_data, parse_ie_data
from bench.records import realistic_ie_data
from callnos_gateway.simulator.records import IE_SHAPES

EXAMPLES = 5_000 if os.environ.get("CI") else 400
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CASES = json.loads((Path(__file__).parent / "data" / "iedata_cases.json").read_text(encoding="utf-8"))
CASE_STRINGS = [case["raw"] for case in CASES]
SHAPES = [text for text in (build(2, "9558801") for build in IE_SHAPES.values()) if isinstance(text, str)]


def same_as_reference(texts: list[str]) -> None:
    expected = [parse_ie_data(text) for text in texts]
    assert iedata_fast.parse_many(texts) == expected
    assert [iedata_fast.parse_ie_data(text) for text in texts] == expected
    assert all(found["raw"] is text for found, text in zip(iedata_fast.parse_many(texts), texts))


def test_the_case_file_one_by_one_and_as_one_batch():
    same_as_reference(CASE_STRINGS)
    for text in CASE_STRINGS:
        same_as_reference([text])


def full_parser_calls(monkeypatch, texts: list[str]) -> list[str]:
    """The strings ``parse_many`` hands to the full parser."""
    handed = []
    monkeypatch.setattr(iedata_fast.iedata, "parse_ie_data", lambda raw: handed.append(raw) or parse_ie_data(raw))
    iedata_fast.parse_many(texts)
    return handed


def test_a_realistic_batch_never_needs_the_full_parser(monkeypatch):
    texts = [realistic_ie_data(index) for index in range(200)]
    assert full_parser_calls(monkeypatch, texts) == []
    monkeypatch.undo()
    same_as_reference(texts)


def test_only_the_odd_strings_of_a_batch_go_to_the_full_parser(monkeypatch):
    texts = [realistic_ie_data(index) for index in range(20)]
    odd = ["RedInfo:a=1;RedInfo:a=2", "CallerNo:callernumber=1", "RedInfo :a=1", "A;B:k=v"]
    assert sorted(full_parser_calls(monkeypatch, [*texts[:5], *odd, *texts[5:]])) == sorted(odd)


def test_one_odd_string_among_well_formed_ones():
    texts = [realistic_ie_data(index) for index in range(20)]
    for odd in ["RedInfo:a=1;RedInfo:a=2", "A:k=1,k=2", "A:=1", ":k=1", "A:k", "A;B:k=v", "A:k=v=w", "A:k=\\v",
                'A:k="v"', "A:k=v\t", "CallerNo:callernumber=1", "callerno:CallerNumber=1", "callerno:callernumber=",
                "callerno:callernumber=1;callerno:callernumber=2", "xcallerno:k=1", "A:k=v;;B:k=v", "A:k=v;"]:
        same_as_reference([*texts[:10], odd, *texts[10:]])


def test_every_simulator_shape_in_one_batch():
    same_as_reference(SHAPES * 3)


FRAGMENTS = ["RedInfo", "A", "k", "v", "1", "callerno", "CallerNo", "callernumber", "CALLERNUMBER", "sipdatahead",
             "SipDataHead", "#%#%", "#$#$", ";", ":", ",", "=", " ", "\t", '"', "\\", "\\\\", "{", "}", "[", '":"',
             '"},"', "\x00", "\x7f", "\uff1b", "\u0130", "\u5ba2"]
soup = st.lists(st.sampled_from(FRAGMENTS), max_size=20).map("".join)
names = st.text(st.sampled_from("aBk1_-"), min_size=1, max_size=6).filter(lambda s: s.lower() != "callerno")
well_formed = st.builds(
    format_ie_data,
    st.dictionaries(names, st.dictionaries(names, st.text(st.sampled_from("ab1=:"), max_size=4), max_size=4),
                    max_size=4),
    st.none() | st.text(st.sampled_from("0123456789+"), min_size=1, max_size=8),
    st.lists(st.fixed_dictionaries({"name": names, "value": st.text(st.sampled_from("ab ;,:=\\1"), max_size=8)
                                    .map(str.strip).filter(lambda s: not s.endswith(("#", "%", "$")))}),
             max_size=3),
)
any_text = st.one_of(soup, well_formed, st.sampled_from(CASE_STRINGS + SHAPES), st.text(max_size=30))


@SETTINGS
@given(st.lists(any_text, max_size=12))
def test_generated_batches(texts):
    same_as_reference(texts)


@SETTINGS
@given(st.lists(well_formed, min_size=1, max_size=12), any_text, st.integers(min_value=0, max_value=12))
def test_well_formed_batches_with_one_stranger(texts, stranger, at):
    same_as_reference([*texts[:at], stranger, *texts[at:]])



def test_a_batchs_records_share_read_only_sip_headers_that_serialise_and_copy_as_plain_dicts():
    """The reader shares each SIP part's headers across a batch: no record can change another's, and every
    consumer (==, orjson, copy, pickle, dataclasses.asdict) sees the plain dicts the full parser gives."""
    import copy
    import dataclasses
    import pickle

    import orjson
    import pytest

    texts = [realistic_ie_data(index) for index in range(3)]
    fast, full = iedata_fast.parse_many(texts), [parse_ie_data(text) for text in texts]
    assert fast == full and orjson.dumps(fast) == orjson.dumps(full)
    first, second = fast[0]["sip_headers"], fast[1]["sip_headers"]
    assert first is not second and first[0] is second[0]  # own lists, shared headers
    with pytest.raises(TypeError):
        first[0]["value"] = "changed"
    for change in (lambda h: h.update(value="x"), lambda h: h.pop("name"), lambda h: h.clear(),
                   lambda h: h.setdefault("other", "x"), lambda h: h.popitem(), lambda h: h.__delitem__("name")):
        with pytest.raises(TypeError):
            change(first[0])
    first.append({"name": "X-Mine", "value": "1"})  # a record's own list
    assert second == full[1]["sip_headers"] and first[0] == full[0]["sip_headers"][0]

    @dataclasses.dataclass
    class Holder:
        headers: list

    for copied in (copy.copy(first[0]), copy.deepcopy(first[0]), pickle.loads(pickle.dumps(first[0]))):
        assert type(copied) is dict and copied == full[0]["sip_headers"][0]
        copied["value"] = "changed"  # a copy is the caller's own
    assert second[0] == full[1]["sip_headers"][0]
    assert dataclasses.asdict(Holder(second))["headers"] == full[1]["sip_headers"]  # asdict rebuilds it, equal
