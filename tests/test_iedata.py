"""Cases for callnos_gateway.records.iedata: the data file, the contract example, hostile input."""

import json
import sys
from pathlib import Path

import pytest

from callnos_gateway.records import iedata
from callnos_gateway.records.iedata import MAX_WARNINGS, format_ie_data, parse_ie_data

CASES = json.loads((Path(__file__).parent / "data" / "iedata_cases.json").read_text(encoding="utf-8"))

CONTRACT_RAW = (
    "RedInfo:RedInd=1,OldRes=1,Res=1,Count=2;RedNumber:NumPlan=0,NumType=0,NumSi=0,NumPi=0,Number=9558800;"
    "callerno:callernumber=12345;"
    "sipdatahead:x-charge:Bob sip:bob@biloxi.com;tag=a\\6c,85cf#%#%x-vdf:vender name#$#$"
)
# CONTRACT.md section 1, the "ie_data" object of the example answer, verbatim.
CONTRACT_IE_DATA = r"""{
  "elements": {
    "RedInfo": {"RedInd": "1", "OldRes": "1", "Res": "1", "Count": "2"},
    "RedNumber": {"NumPlan": "0", "NumType": "0", "NumSi": "0", "NumPi": "0", "Number": "9558800"}
  },
  "caller_number": "12345",
  "sip_headers": [
    {"name": "x-charge", "value": "Bob sip:bob@biloxi.com;tag=a\\6c,85cf"},
    {"name": "x-vdf", "value": "vender name"}
  ],
  "raw": "RedInfo:RedInd=1,OldRes=1,Res=1,Count=2;RedNumber:NumPlan=0,NumType=0,NumSi=0,NumPi=0,Number=9558800;callerno:callernumber=12345;sipdatahead:x-charge:Bob sip:bob@biloxi.com;tag=a\\6c,85cf#%#%x-vdf:vender name#$#$",
  "warnings": []
}"""


def ordered(elements):
    """Elements as nested item lists, so that comparing them also compares order."""
    return [(name, list(pairs.items())) for name, pairs in elements.items()]


def test_case_file_covers_enough_cases():
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 30
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case(case):
    result = parse_ie_data(case["raw"])
    assert result["raw"] is case["raw"]
    assert ordered(result["elements"]) == ordered(case["elements"])
    assert result["caller_number"] == case["caller_number"]
    assert result["sip_headers"] == case["sip_headers"]
    assert len(result["warnings"]) == len(case["warnings"]), result["warnings"]
    for expected, warning in zip(case["warnings"], result["warnings"]):
        assert expected in warning.lower(), (expected, warning)


def test_contract_example_gives_the_contract_json_exactly():
    result = parse_ie_data(CONTRACT_RAW)
    expected = json.loads(CONTRACT_IE_DATA)
    assert result == expected
    assert json.dumps(result) == json.dumps(expected)  # same key order, all the way down


def test_format_writes_the_contract_example():
    expected = json.loads(CONTRACT_IE_DATA)
    built = format_ie_data(expected["elements"], expected["caller_number"], expected["sip_headers"])
    assert built == CONTRACT_RAW


def test_format_of_nothing_is_the_empty_string():
    assert format_ie_data({}) == ""
    assert format_ie_data({"A": {}}) == "A:"


@pytest.mark.parametrize(
    "args",
    [
        ({"A;B": {}},),
        ({"A:B": {}},),
        ({"": {}},),
        ({" A": {}},),
        ({"A": {"k=": "v"}},),
        ({"A": {"k": "v,w"}},),
        ({"A": {"": "v"}},),
        ({"A": {"k": "v\uff1b"}},),
        ({"CallerNo": {"callernumber": "1"}},),
        ({"A": {"k": "xSipDataHead:y"}},),
        ({}, ""),
        ({}, "1;2"),
        ({}, None, [{"name": "x:y", "value": "v"}]),
        ({}, None, [{"name": "", "value": "v"}]),
        ({}, None, [{"name": "x", "value": "a#%#%b"}]),
        ({}, None, [{"name": "x", "value": "a#$#$"}]),
        ({}, None, [{"name": "x", "value": "a#%"}]),
        ({}, None, [{"name": "x", "value": "a#$"}]),
        ({}, None, [{"name": "x", "value": "v "}]),
    ],
)
def test_format_refuses_what_would_not_read_back(args):
    with pytest.raises(ValueError):
        format_ie_data(*args)


@pytest.mark.parametrize("text", ["\x08" * 500, "\U0001342f" * 500, "N" * 500, "\u5ba2" * 500])
def test_quoted_input_in_warnings_stays_short(text):
    result = parse_ie_data(f"{text}:{text},{text}={text};callerno:{text}=1")
    assert len(result["warnings"]) == 4
    assert all(len(warning) < 200 for warning in result["warnings"])


# --- hostile input: about 1 MB each; correctness and bounded warnings, no timing.

MB = 1 << 20


def more(count):
    return f"{count} more warning{'' if count == 1 else 's'} not shown"


def check_semicolons(result, n):
    assert result["elements"] == {"a": {}}
    assert result["warnings"][-1] == more(2 * n - 1 - MAX_WARNINGS)  # every element was seen


def check_colons(result, n):
    assert result["elements"] == {"": {":" * (n - 1): ""}}
    assert len(result["warnings"]) == 2


def check_equals(result, n):
    assert result["elements"] == {"=" * n: {}}
    assert len(result["warnings"]) == 1


def check_sip_separators(result, n):
    assert result["elements"] == {} and result["sip_headers"] == []
    assert len(result["warnings"]) == 1 and "no end mark" in result["warnings"][0]


def check_marks(result, n):
    assert result["sip_headers"] == [{"name": "sipdatahead", "value": "sipdatahead:" * (n - 2)}]
    assert len(result["warnings"]) == 1


def check_unfinished_marks(result, n):
    assert list(result["elements"]) == [("sipdatahead " * n).strip()]
    assert result["sip_headers"] == [] and len(result["warnings"]) == 1


def check_empty_keys(result, n):
    assert result["elements"] == {"A": {"": ""}}
    assert result["warnings"][-1] == more(2 * n - 1 - MAX_WARNINGS)


def check_full_width(result, n):
    assert result["elements"] == {} and len(result["warnings"]) == 1


def check_end_marks(result, n):
    assert result["sip_headers"] == [{"name": "x", "value": "1"}]
    assert len(result["warnings"]) == 1 and "ignored" in result["warnings"][0]


def check_callers(result, n):
    assert result["elements"] == {} and result["caller_number"] == str(n - 1)
    assert result["warnings"][-1] == more(n - 1 - MAX_WARNINGS)


HOSTILE = {
    "semicolons": (lambda n: "a;" * n, MB // 2, check_semicolons),
    "colons": (lambda n: ":" * n, MB, check_colons),
    "equals": (lambda n: "=" * n, MB, check_equals),
    "sip_separators": (lambda n: "sipdatahead:" + "#%#%" * n, MB // 4, check_sip_separators),
    "marks": (lambda n: "sipdatahead:" * n, MB // 12, check_marks),
    "unfinished_marks": (lambda n: "sipdatahead " * n, MB // 12, check_unfinished_marks),
    "empty_keys": (lambda n: "A:" + ",=" * n, MB // 2, check_empty_keys),
    "full_width": (lambda n: "\uff1b" * n, MB, check_full_width),
    "end_marks": (lambda n: "sipdatahead:x:1" + "#$#$" * n, MB // 4, check_end_marks),
    "callers": (lambda n: "".join(f"callerno:callernumber={i};" for i in range(n)), MB // 32, check_callers),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_is_read_fully_with_bounded_warnings(name):
    build, n, check = HOSTILE[name]
    raw = build(n)
    result = parse_ie_data(raw)
    assert result["raw"] is raw
    check(result, n)
    assert len(result["warnings"]) <= MAX_WARNINGS + 1
    assert all(len(warning) < 200 for warning in result["warnings"])


def count_lines(raw):
    """Count the Python lines src/callnos_gateway/records/iedata.py runs to parse raw: work, not time."""
    filename = iedata.__file__
    count = 0

    def local(frame, event, arg):
        nonlocal count
        count += event == "line"
        return local

    def on_call(frame, event, arg):
        return local if frame.f_code.co_filename == filename else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        parse_ie_data(raw)
    finally:
        sys.settrace(previous)
    return count


@pytest.mark.parametrize("name", list(HOSTILE))
def test_work_grows_linearly(name):
    build = HOSTILE[name][0]
    small, large = count_lines(build(500)), count_lines(build(1000))
    assert large <= 2 * small + 50, (small, large)  # a quadratic step would make it 4x
