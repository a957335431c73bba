"""The upstream interface units (adapter/obs): answer reading, retry rules, and imports that point down."""

from __future__ import annotations

import ast
from pathlib import Path

import orjson
import pytest

from callnos_gateway.errors import (
    UpstreamBadResponse, UpstreamConnectionLost, UpstreamHTTPError, UpstreamRejected, UpstreamTimeout,
)
from callnos_gateway.records import envelope
from callnos_gateway.upstream.obs import INTERFACES, discovery, isholiday, tasks
from callnos_gateway.upstream.obs.interface import NEVER_RESEND, ONCE_MORE
from callnos_gateway.upstream.obs.login import read_grant

ROOT = Path(__file__).resolve().parent.parent


def answer(result_data, result=0) -> bytes:
    return orjson.dumps({"result": result, "resultData": result_data})


def test_token_grant_reads_expirations_as_numbers_or_strings():
    grant = read_grant(answer({"token": "t", "tokenExpirationTime": "300", "refreshToken": "r",
                               "refreshExpirationTime": 3600}))
    assert (grant.token, grant.expires_in, grant.refresh_token, grant.refresh_expires_in) == ("t", 300.0, "r", 3600.0)


@pytest.mark.parametrize("data", [{}, {"token": "", "tokenExpirationTime": 1}, {"token": "t", "tokenExpirationTime": "x"},
                                  {"token": "t", "tokenExpirationTime": 0}, {"token": "t", "tokenExpirationTime": True}])
def test_an_incomplete_token_answer_is_bad_response(data):
    with pytest.raises(UpstreamBadResponse):
        read_grant(answer(data))


def test_the_envelope_accepts_zero_as_number_or_string_and_rejects_the_rest():
    assert envelope.check_result({"result": "0"}) == {"result": "0"}
    with pytest.raises(UpstreamRejected) as rejected:
        envelope.check_result({"result": 3, "resultMessage": " busy "})
    assert rejected.value.extra == {"upstream_result": "3", "upstream_message": "busy"}
    for document in ({"result": True}, {"result": None}, [], {"resultData": {}}):
        with pytest.raises(UpstreamBadResponse):
            envelope.check_result(document)


def test_tasks_read_both_spellings_in_order_with_the_right_spelling_winning():
    body = answer({"taskData": [{"seviceId": "1", "serviceId": "2"}, {"seviceId": 3}]})
    assert tasks.read(body) == ["2", "3"]


def test_is_holiday_reads_only_zero_and_one():
    assert [isholiday.read(answer({"isHoliday": v})) for v in (0, 1, "0", "1")] == [False, True, False, True]
    with pytest.raises(UpstreamBadResponse):
        isholiday.read(answer({"isHoliday": "true"}))


def test_discovery_reads_every_reported_path_and_names_ours():
    found = discovery.read(answer({"version": 311, "getTask": "/iSales/getTask", "getHoliDay": "/h", "other": 5}))
    assert (found.version, found.paths) == ("311", {"getTask": "/iSales/getTask", "getHoliDay": "/h"})
    assert [discovery.our_name(key) for key in ("getTask", "GETHOLIDAY", "pushTaskStatus", "x")] == [
        "tasks", "holiday", None, None]


def test_reads_are_sent_once_more_and_writes_never_after_they_may_have_arrived():
    may_retry = [UpstreamTimeout(), UpstreamConnectionLost(), UpstreamHTTPError(503)]
    never = [UpstreamHTTPError(400), UpstreamHTTPError(401), UpstreamBadResponse(), UpstreamRejected("1")]
    assert all(ONCE_MORE.allows(error) for error in may_retry)
    assert not any(ONCE_MORE.allows(error) for error in never)
    assert not any(NEVER_RESEND.allows(error) for error in may_retry + never)
    rules = {interface.name: interface.retry for interface in INTERFACES}
    assert {name for name, rule in rules.items() if rule is ONCE_MORE} == {"tasks", "holiday", "discovery"}


def test_every_interface_has_its_path_setting():
    assert [interface.setting for interface in INTERFACES] == [
        "CALLNOS_PATH_LOGIN", "CALLNOS_PATH_REFRESH", "CALLNOS_PATH_TASKS", "CALLNOS_PATH_CALLNOS",
        "CALLNOS_PATH_HOLIDAY", "CALLNOS_PATH_RESULT", "CALLNOS_PATH_MIDRESULT", "CALLNOS_PATH_DISCOVERY"]


def test_a_warning_swapped_keeps_the_failure():
    error = UpstreamHTTPError(500)
    timeout = UpstreamTimeout()
    timeout.elapsed_ms = 12.0
    warned = timeout.warned("Nothing happened.")
    assert (type(warned), warned.status, warned.elapsed_ms) == (UpstreamTimeout, 504, 12.0)
    assert warned.detail == "The upstream did not answer in time. Nothing happened."
    assert error.extra == {"upstream_status": 500}


@pytest.mark.parametrize("layer, forbidden", [
    ("errors", ("api", "app", "cli", "records", "server", "settings", "stores", "upstream", "wsgi")),
    ("records", ("api", "app", "cli", "server", "settings", "stores", "upstream", "wsgi")),
    ("upstream", ("api", "app", "cli", "server", "wsgi")),
    ("settings", ("api", "app", "cli", "server", "wsgi")),
    ("api", ("app", "cli", "server", "simulator", "wsgi")),
])
def test_imports_point_down_only(layer, forbidden):
    """Run-time imports of each layer of the package (type-only imports under TYPE_CHECKING aside)."""
    package = ROOT / "src" / "callnos_gateway"
    paths = sorted((package / layer).rglob("*.py")) if (package / layer).is_dir() else [package / f"{layer}.py"]
    assert paths and all(path.exists() for path in paths)
    upward = []
    for path in paths:
        for name in _runtime_imports(ast.parse(path.read_text())):
            parts = name.split(".")
            if parts[0] == "callnos_gateway" and len(parts) > 1 and parts[1] in forbidden:
                upward.append(f"{path.relative_to(package)}: {name}")
    assert upward == []


def _runtime_imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            names += [name for child in node.orelse for name in _runtime_imports(ast.Module([child], []))]
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
        else:
            names += _runtime_imports(node)
    return names
