"""Property tests for callnos_gateway.records.iedata: any text is read without raising, and
format_ie_data / parse_ie_data are inverse on well-formed data."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callnos_gateway.records.iedata import MAX_WARNINGS, format_ie_data, parse_ie_data

# Sized here rather than in a shared profile, so no conftest is needed: CI=true
# runs the long form.
EXAMPLES = 10_000 if os.environ.get("CI") else 500
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FULL_WIDTH = "\uff1b\uff1a\uff0c\uff1d"  # "；：，＝"
SEPARATOR_CHARS = ";:,= \t\\#%$" + FULL_WIDTH
FRAGMENTS = [
    "sipdatahead", "SipDataHead", "sipdatahead:", "sipdatahead\uff1a", "sipdatahead :", "callerno",
    "CallerNo:", "callernumber=", "CALLERNUMBER=1", "#%#%", "#$#$", "#%", "#$", "RedInfo", "x-h:",
    "a", "1", "\u0130", "\u5ba2",
]

separator_heavy = st.text(st.one_of(st.sampled_from(SEPARATOR_CHARS), st.sampled_from("aB1")))
fragment_soup = st.lists(st.sampled_from(FRAGMENTS + list(SEPARATOR_CHARS))).map("".join)
anything = st.one_of(st.text(), separator_heavy, fragment_soup)


def _is_str_dict(value):
    return isinstance(value, dict) and all(type(k) is str and type(v) is str for k, v in value.items())


def _check_types(result):
    assert list(result) == ["elements", "caller_number", "sip_headers", "raw", "warnings"]
    assert all(isinstance(name, str) and _is_str_dict(pairs) for name, pairs in result["elements"].items())
    caller = result["caller_number"]
    assert caller is None or (isinstance(caller, str) and caller)
    assert all(list(header) == ["name", "value"] and _is_str_dict(header) for header in result["sip_headers"])
    assert all(isinstance(warning, str) and len(warning) < 200 for warning in result["warnings"])
    assert len(result["warnings"]) <= MAX_WARNINGS + 1
    json.dumps(result)  # plain data all the way down


def _check_trimmed_and_split(result):
    for name, pairs in result["elements"].items():
        assert name == name.strip() and ";" not in name and ":" not in name
        assert name.lower() != "callerno"
        for key, value in pairs.items():
            assert key == key.strip() and value == value.strip()
            assert not any(sep in key for sep in ";,=" + FULL_WIDTH)
            assert not any(sep in value for sep in ";," + FULL_WIDTH)
    for header in result["sip_headers"]:
        assert header["name"] == header["name"].strip() and ":" not in header["name"]
        assert header["value"] == header["value"].strip()
        assert "#%#%" not in header["value"] and "#$#$" not in header["value"]


@SETTINGS
@given(anything)
def test_any_text_is_read_without_raising(raw):
    result = parse_ie_data(raw)
    assert result["raw"] is raw
    _check_types(result)
    _check_trimmed_and_split(result)


def _text(exclude, *, extra, min_size=0, max_size=12):
    """Text without the excluded characters and without surrounding space."""
    alphabet = st.one_of(
        st.characters(exclude_categories=("Cs",), exclude_characters=exclude),
        st.sampled_from([c for c in extra if c not in exclude]),
    )
    text = st.text(alphabet, max_size=max_size).map(str.strip)
    return text.filter(lambda s: len(s) >= min_size and "sipdatahead" not in s.lower())


IE_EXCLUDED = FULL_WIDTH + ";"
names = _text(IE_EXCLUDED + ":", extra="=, aB", min_size=1).filter(lambda s: s.lower() != "callerno")
keys = _text(IE_EXCLUDED + ",=", extra=": aB", min_size=1)
values = _text(IE_EXCLUDED + ",", extra="=: aB1")
elements = st.dictionaries(names, st.dictionaries(keys, values, max_size=5), max_size=5)
callers = st.none() | _text(IE_EXCLUDED + ",", extra="+1", min_size=1)
sip_names = _text(":", extra="-#%$x", min_size=1).filter(lambda s: "#%#%" not in s and "#$#$" not in s)
sip_values = _text("", extra=SEPARATOR_CHARS, max_size=24).filter(
    lambda s: "#%#%" not in s and "#$#$" not in s and not s.endswith(("#%", "#$"))
)
headers = st.lists(st.fixed_dictionaries({"name": sip_names, "value": sip_values}), max_size=5)


@SETTINGS
@given(elements, callers, headers)
def test_format_then_parse_gives_the_same_data(elements, caller_number, sip_headers):
    raw = format_ie_data(elements, caller_number, sip_headers)
    result = parse_ie_data(raw)
    assert result["warnings"] == []
    assert [(n, list(p.items())) for n, p in result["elements"].items()] == [
        (n, list(p.items())) for n, p in elements.items()
    ]
    assert result["caller_number"] == caller_number
    assert result["sip_headers"] == sip_headers


# Short tokens from a small alphabet: often valid, often just one character off.
near = st.one_of(
    st.sampled_from(["a", "Bc", "x y", "1", ""]),
    st.text(st.sampled_from("aB1 =:,;#%$\\\uff1b\u0130"), max_size=5),
    st.sampled_from(FRAGMENTS),
)


@SETTINGS
@given(
    st.dictionaries(near, st.dictionaries(near, near, max_size=3), max_size=3),
    st.none() | near,
    st.lists(st.fixed_dictionaries({"name": near, "value": near}), max_size=3),
)
def test_format_refuses_or_builds_a_string_that_reads_back(elements, caller_number, sip_headers):
    try:
        raw = format_ie_data(elements, caller_number, sip_headers)
    except ValueError:
        return
    result = parse_ie_data(raw)
    assert result["warnings"] == []
    assert result["elements"] == elements
    assert result["caller_number"] == caller_number
    assert result["sip_headers"] == sip_headers
