"""Tests of the upstream simulator, over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from callnos_gateway.simulator import Simulator, SimulatorConfig, parse_fault
from callnos_gateway.simulator.records import IE_SHAPES, SIP_PART

OBS = "/rest/isales/v1/openapi/obs"
LOGIN, REFRESH, CALLNOS = f"{OBS}/auth/login", f"{OBS}/auth/refresh", f"{OBS}/business/callnos"
CREDENTIALS = {"user": "demo", "passwd": "demo-password"}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never route loopback calls through a proxy
    yield session
    session.close()


@pytest.fixture
def make_sim() -> Callable[..., Simulator]:
    started: list[Simulator] = []

    def make(**overrides: Any) -> Simulator:
        sim = Simulator(SimulatorConfig(port=0, **overrides)).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


def login(http: requests.Session, sim: Simulator) -> dict[str, Any]:
    answer = http.post(sim.url + LOGIN, json=CREDENTIALS, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["resultData"]


def callnos(http: requests.Session, sim: Simulator, token: str | None, batch: int = 10,
            task: int = 1001, timeout: float = 5, **headers: str) -> requests.Response:
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    body = {"subCCNo": 1, "vdnId": 1, "serviceId": task, "batchCount": batch}
    return http.post(sim.url + CALLNOS, json=body, headers=headers, timeout=timeout)


def records_of(answer: requests.Response) -> list[dict[str, Any]]:
    data = answer.json()["resultData"]
    return data["taskData"] if "taskData" in data else [dict(data)]


def customer_ids(records: list[dict[str, Any]]) -> list[str]:
    return [r.get("uniqueId", r.get("uiqueId")) for r in records]


def wait_for(check: Callable[[], bool], seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- tokens -----------------------------------------------------------------

def test_login_answers_a_token_pair_with_numbers_then_strings(http, sim):
    first, second = login(http, sim), login(http, sim)
    assert (first["tokenExpirationTime"], first["refreshExpirationTime"]) == (300, 3600)
    assert (second["tokenExpirationTime"], second["refreshExpirationTime"]) == ("300", "3600")
    assert first["token"] != second["token"] and re.fullmatch(r"[0-9a-f]{32}", first["token"])


def test_login_refuses_wrong_credentials_and_bad_bodies(http, sim):
    wrong = http.post(sim.url + LOGIN, json={"user": "demo", "passwd": "nope"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["result"] not in (0, "0")
    assert http.post(sim.url + LOGIN, data=b"{not json", timeout=5).status_code == 400
    assert http.post(sim.url + LOGIN, json=["demo"], timeout=5).status_code == 400
    assert login(http, sim)["token"]
    assert sim.stats()["login"] == 4


def test_refresh_trades_the_refresh_token_for_a_new_pair(http, sim):
    pair = login(http, sim)
    auth = {"Authorization": f"Bearer {pair['refreshToken']}"}
    answer = http.post(sim.url + REFRESH, json={"refreshToken": pair["refreshToken"]}, headers=auth, timeout=5)
    fresh = answer.json()["resultData"]
    assert answer.status_code == 200 and fresh["token"] != pair["token"]
    assert callnos(http, sim, fresh["token"]).status_code == 200
    no_header = http.post(sim.url + REFRESH, json={"refreshToken": pair["refreshToken"]}, timeout=5)
    assert no_header.status_code == 401
    sim.expire_refresh_tokens()
    expired = http.post(sim.url + REFRESH, json={"refreshToken": pair["refreshToken"]}, headers=auth, timeout=5)
    assert expired.status_code == 401 and sim.stats()["refresh"] == 3


def test_expired_access_token_is_refused_while_refresh_still_works(http, sim):
    pair = login(http, sim)
    sim.expire_tokens()
    assert callnos(http, sim, pair["token"]).status_code == 401
    auth = {"Authorization": f"Bearer {pair['refreshToken']}"}
    answer = http.post(sim.url + REFRESH, json={"refreshToken": pair["refreshToken"]}, headers=auth, timeout=5)
    assert callnos(http, sim, answer.json()["resultData"]["token"]).status_code == 200


def refresh_with(http: requests.Session, sim: Simulator, refresh_token: str) -> requests.Response:
    auth = {"Authorization": f"Bearer {refresh_token}"}
    return http.post(sim.url + REFRESH, json={"refreshToken": refresh_token}, headers=auth, timeout=5)


def test_invalidating_login_kills_every_earlier_token_and_refresh_token(http, make_sim):
    sim = make_sim(invalidating_login=True, static_tokens=("static-7f3a",))
    first, second = login(http, sim), login(http, sim)
    assert callnos(http, sim, first["token"], batch=1).status_code == 401
    assert refresh_with(http, sim, first["refreshToken"]).status_code == 401
    assert callnos(http, sim, second["token"], batch=1).status_code == 200
    refreshed = refresh_with(http, sim, second["refreshToken"]).json()["resultData"]
    assert callnos(http, sim, refreshed["token"], batch=1).status_code == 200
    assert callnos(http, sim, second["token"], batch=1).status_code == 200  # a refresh kills nothing
    assert callnos(http, sim, "static-7f3a", batch=1).status_code == 200


def test_invalidating_login_by_cli_flag_and_control_route(http, tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", "callnos_gateway.simulator", "--port", str(port), "--invalidating-login"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        process.stdout.readline()
        sim_url = f"http://127.0.0.1:{port}"
        stub = type("Sim", (), {"url": sim_url})()
        first, second = login(http, stub), login(http, stub)
        assert callnos(http, stub, first["token"], batch=1).status_code == 401
        switch = http.post(sim_url + "/_sim/invalidating-login", json={"on": False}, timeout=5)
        assert switch.status_code == 200
        third = login(http, stub)
        assert callnos(http, stub, second["token"], batch=1).status_code == 200
        assert callnos(http, stub, third["token"], batch=1).status_code == 200
        bad = http.post(sim_url + "/_sim/invalidating-login", json={"on": "yes"}, timeout=5)
        assert bad.status_code == 400
    finally:
        process.terminate()
        process.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_access_token_expires_after_its_ttl(http, make_sim):
    sim = make_sim(token_ttl=0.2)
    token = login(http, sim)["token"]
    assert callnos(http, sim, token, batch=1).status_code == 200
    time.sleep(0.3)
    assert callnos(http, sim, token, batch=1).status_code == 401


def test_callnos_auth_failures_take_no_records(http, sim):
    assert callnos(http, sim, None).status_code == 401
    assert callnos(http, sim, None, Authorization="Token abc").status_code == 403
    assert callnos(http, sim, "unknown-token").status_code == 401
    stats = sim.stats()
    assert stats["callnos_unauthorized"] == 3 and stats["records_taken"] == 0


def test_auth_header_name_is_configurable(http, make_sim):
    sim = make_sim(auth_header="Authentication")
    token = login(http, sim)["token"]
    assert callnos(http, sim, token).status_code == 401  # sent as Authorization
    answer = callnos(http, sim, None, Authentication=f"Bearer {token}")
    assert answer.status_code == 200 and len(records_of(answer)) == 10


# --- callnos queue and record shapes --------------------------------------------

@pytest.mark.parametrize("body", [
    {"subCCNo": "1", "vdnId": 1, "serviceId": 1001, "batchCount": 5},
    {"subCCNo": 1, "vdnId": True, "serviceId": 1001, "batchCount": 5},
    {"subCCNo": 1, "vdnId": 1, "batchCount": 5},
    {"subCCNo": 1, "vdnId": 1, "serviceId": 1001, "batchCount": 0},
    ["not", "an", "object"],
])
def test_callnos_rejects_bad_parameters_with_400(http, sim, body):
    token = login(http, sim)["token"]
    answer = http.post(sim.url + CALLNOS, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert answer.status_code == 400 and answer.json()["result"] not in (0, "0")


def test_queue_hands_out_each_record_once(http, sim):
    token = login(http, sim)["token"]
    ids = customer_ids(records_of(callnos(http, sim, token, 50)) + records_of(callnos(http, sim, token, 50)))
    assert len(ids) == len(set(ids)) == 100
    assert ids[0] == "C-1001-000001" and ids[-1] == "C-1001-000100"
    assert customer_ids(records_of(callnos(http, sim, token, 1, task=7)))[0] == "C-7-000001"
    stats = sim.stats()
    assert stats["records_out"] == stats["records_taken"] == 101
    assert stats["by_task"] == {"1:1:1001": 100, "1:1:7": 1} and stats["callnos_ok"] == 3


def test_queue_is_safe_under_concurrent_takers(sim):
    token = sim.issue_token()
    found: list[str] = []

    def take() -> None:
        with requests.Session() as session:
            session.trust_env = False
            for _ in range(10):
                found.extend(customer_ids(records_of(callnos(session, sim, token, 5))))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == len(set(found)) == 400


def test_empty_queue_answers_an_empty_batch(http, make_sim):
    sim = make_sim(records_per_task=5)
    token = login(http, sim)["token"]
    sizes = [len(records_of(callnos(http, sim, token, 3))) for _ in range(2)]
    empty = callnos(http, sim, token, 3)
    assert sizes == [3, 2] and empty.status_code == 200
    assert empty.json()["resultData"]["taskData"] == [] and sim.remaining(1, 1, 1001) == 0


def test_both_answer_shapes_spellings_and_result_types_occur(http, sim):
    token = login(http, sim)["token"]
    answers = [callnos(http, sim, token, 1).json() for _ in range(6)]
    keys = {key for a in answers for key in a["resultData"]}
    assert "taskData" in keys and "phoneNumber" in keys  # list and single-record shapes
    assert {a["result"] for a in answers} == {0, "0"}
    records = records_of(callnos(http, sim, token, 6))
    names = {key for record in records for key in record}
    assert {"seviceId", "serviceId", "uiqueId", "uniqueId"} <= names


def test_fixed_modes_give_one_shape_and_spelling(http, make_sim):
    listed = make_sim(shape="list", spelling="fixed")
    token = listed.issue_token()
    for _ in range(3):
        answer = callnos(http, listed, token, 1).json()
        assert answer["result"] == "0" and "taskData" in answer["resultData"]
        assert {"serviceId", "uniqueId"} <= set(answer["resultData"]["taskData"][0])
    single = make_sim(shape="single", spelling="doc")
    data = callnos(http, single, single.issue_token(), 1).json()["resultData"]
    assert data["uiqueId"] == "C-1001-000001" and data["seviceId"] == "1001" and data["version"] == "311"


def _ie_part(text: str) -> str:
    return text.lower().split("sipdatahead")[0]


def _elements(text: str) -> list[tuple[str, str]]:
    return [(name.strip(), pairs) for name, _, pairs in (e.partition(":") for e in _ie_part(text).split(";") if e)]


IE_CHECKS: dict[str, Callable[[str], bool]] = {
    "ie_only": lambda s: s.startswith("RedInfo:") and "RedNumber:" in s and s.count(";") == 1,
    "ie_callerno": lambda s: ";callerno:callernumber=" in s and "sipdatahead" not in s,
    "ie_callerno_mixed_case": lambda s: ";CallerNo:CALLERNUMBER=" in s,
    "ie_sip": lambda s: s.startswith("RedInfo:") and "callerno" not in s and s.endswith(";" + SIP_PART),
    "ie_callerno_sip": lambda s: ";callerno:callernumber=" in s and s.endswith(";" + SIP_PART),
    "sip_only": lambda s: s == SIP_PART,
    "spaces": lambda s: s.startswith("RedInfo :RedInd=1, OldRes=1"),
    "full_width": lambda s: "：" in s and "；" in s and "，" in s,
    "element_without_colon": lambda s: s.startswith("RedInfo;"),
    "pair_without_equals": lambda s: any(p and "=" not in p for _, pairs in _elements(s) for p in pairs.split(",")),
    "repeated_element": lambda s: len({n for n, _ in _elements(s)}) < len(_elements(s)),
    "sip_trailing_junk": lambda s: "#$#$" in s and not s.endswith("#$#$"),
    "sip_upper_empty_headers": lambda s: s.startswith("SIPDATAHEAD:") and "#%#%#%#%" in s,
    "empty": lambda s: s == "",
}


def test_every_ie_data_shape_occurs_within_the_first_50_records(http, sim):
    records = records_of(callnos(http, sim, sim.issue_token(), 50))
    values = [r["ieData"] for r in records if isinstance(r.get("ieData"), str)]
    seen = {name for name, check in IE_CHECKS.items() if any(check(v) for v in values)}
    assert set(IE_CHECKS) == seen
    assert any("ieData" not in r for r in records) and any(r.get("ieData", "") is None for r in records)
    assert set(IE_CHECKS) | {"absent", "null"} == set(IE_SHAPES)


def test_other_field_variants_occur(http, sim):
    records = records_of(callnos(http, sim, sim.issue_token(), 50))
    phones = [r["phoneNumber"] for r in records]
    assert any(isinstance(p, str) for p in phones)
    assert all(isinstance(p, str) or 1 <= len(p) <= 3 for p in phones)
    assert any("callData" not in r for r in records) and any(r.get("callData", 1) is None for r in records)
    assert any("callerNumber" not in r for r in records) and any(r.get("extField") == "x" for r in records)


def test_records_depend_only_on_the_seed(http, make_sim):
    first, same, other = make_sim(seed=7), make_sim(seed=7), make_sim(seed=8)
    bodies = [records_of(callnos(http, s, s.issue_token(), 5, Connection="close")) for s in (first, same, other)]
    assert bodies[0] == bodies[1] != bodies[2]


# --- faults ---------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "status", "taken"), [
    ("status:500", 500, 5), ("status:503", 503, 5), ("status:401", 401, 0), ("status:403", 403, 0),
])
def test_status_faults_answer_json_errors(http, sim, spec, status, taken):
    sim.push_faults("callnos", [spec])
    answer = callnos(http, sim, sim.issue_token(), 5)
    assert answer.status_code == status and answer.json()["result"] not in (0, "0")
    stats = sim.stats()
    assert stats["records_taken"] == taken and stats["records_out"] == 0
    assert stats["faults_applied"] == {spec: 1}


def test_result_broken_json_wrong_shape_and_huge_faults(http, sim):
    sim.push_faults("callnos", ["result:E123", "broken_json", "wrong_shape", "wrong_shape:1", "huge:200000"])
    token = sim.issue_token()
    answers = [callnos(http, sim, token, 5) for _ in range(5)]
    assert answers[0].json() == {"result": "E123", "resultMessage": "simulated business failure E123"}
    with pytest.raises(ValueError):
        answers[1].json()
    assert isinstance(answers[2].json(), list) and isinstance(answers[3].json()["resultData"], str)
    assert len(answers[4].content) == 200000 and answers[4].json()["result"] == 0
    assert all(a.status_code == 200 for a in answers) and sim.stats()["records_taken"] == 0


def test_pushed_faults_are_consumed_in_order_and_run_faults_persist(http, sim):
    token = sim.issue_token()
    sim.push_faults("callnos", ["status:502", "ok"])
    assert [callnos(http, sim, token, 1).status_code for _ in range(3)] == [502, 200, 200]
    sim.set_run_fault("callnos", "status:503")
    assert [callnos(http, sim, token, 1).status_code for _ in range(2)] == [503, 503]
    sim.set_run_fault("callnos", None)
    assert callnos(http, sim, token, 1).status_code == 200


def test_latency_delays_the_answer(http, sim):
    sim.push_faults("callnos", ["latency:150"])
    started = time.monotonic()
    assert callnos(http, sim, sim.issue_token(), 1).status_code == 200
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize("spec", ["drop", "reset"])
def test_drop_and_reset_take_records_and_break_the_connection(http, sim, spec):
    sim.push_faults("callnos", [spec])
    with pytest.raises(requests.ConnectionError):
        callnos(http, sim, sim.issue_token(), 4)
    stats = sim.stats()
    assert stats["records_taken"] == 4 and stats["records_out"] == 0
    assert callnos(http, sim, sim.issue_token(), 1).status_code == 200  # server still fine


def test_timeout_fault_outlasts_the_client_read_timeout(http, sim):
    sim.push_faults("callnos", ["timeout:0.6"])
    with pytest.raises(requests.ReadTimeout):
        callnos(http, sim, sim.issue_token(), 3, timeout=0.3)
    assert sim.stats()["records_taken"] == 3
    time.sleep(0.5)
    assert sim.stats()["records_out"] == 0 and sim.stats()["callnos_ok"] == 0


def test_drip_sends_slowly_but_every_read_is_quick(http, sim):
    sim.push_faults("callnos", ["drip:1500"])
    started = time.monotonic()
    answer = callnos(http, sim, sim.issue_token(), 2, timeout=0.25)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200 and len(records_of(answer)) == 2
    assert 0.25 < len(answer.content) / 1500 * 0.8 <= elapsed < 2
    assert wait_for(lambda: sim.stats()["records_out"] == 2)


def test_login_and_refresh_faults(http, sim):
    sim.push_faults("login", ["status:401", "latency:100"])
    assert http.post(sim.url + LOGIN, json=CREDENTIALS, timeout=5).status_code == 401
    started = time.monotonic()
    pair = login(http, sim)
    assert time.monotonic() - started >= 0.1
    sim.set_run_fault("refresh", "status:500")
    auth = {"Authorization": f"Bearer {pair['refreshToken']}"}
    answer = http.post(sim.url + REFRESH, json={"refreshToken": pair["refreshToken"]}, headers=auth, timeout=5)
    assert answer.status_code == 500


def test_header_faults_from_x_request_id_and_x_sim_fault(http, sim):
    token = sim.issue_token()
    assert callnos(http, sim, token, **{"X-Request-ID": "sim-fault-status:503"}).status_code == 503
    assert callnos(http, sim, token, **{"X-Sim-Fault": "result:7"}).json()["result"] == "7"
    assert callnos(http, sim, token, **{"X-Sim-Fault": "login=status:500"}).status_code == 200
    assert callnos(http, sim, token, **{"X-Sim-Fault": "explode"}).status_code == 400
    assert callnos(http, sim, token, **{"X-Request-ID": "plain-id"}).status_code == 200
    assert sim.stats()["last_headers"]["x-request-id"] == "plain-id"


@pytest.mark.parametrize("spec", ["explode", "status", "drop:1", "status:abc", "latency:-1", "huge:0"])
def test_bad_fault_specs_are_refused(sim, spec):
    with pytest.raises(ValueError):
        parse_fault(spec)
    with pytest.raises(ValueError):
        sim.push_faults("callnos", [spec])


# --- control routes, prefix, precomputed, robustness, CLI ----------------------------

def test_control_routes_over_http(http, sim):
    token = login(http, sim)["token"]
    post = lambda path, body=None: http.post(f"{sim.url}/_sim/{path}", json=body, timeout=5)  # noqa: E731
    assert post("faults", {"endpoint": "callnos", "faults": ["status:500"]}).status_code == 200
    assert callnos(http, sim, token).status_code == 500
    assert post("run-fault", {"endpoint": "callnos", "fault": "result:9"}).status_code == 200
    assert callnos(http, sim, token).json()["result"] == "9"
    assert post("run-fault", {"endpoint": "callnos", "fault": None}).status_code == 200
    assert post("faults", {"endpoint": "nowhere", "faults": ["ok"]}).status_code == 400
    assert post("faults", {"endpoint": "callnos", "faults": ["explode"]}).status_code == 400
    assert post("expire-tokens").status_code == 200 and callnos(http, sim, token).status_code == 401
    stats = http.get(f"{sim.url}/_sim/stats", timeout=5).json()
    assert stats["callnos"] == 3 and stats["login"] == 1 and stats["faults_applied"]["result:9"] == 1
    assert post("reset").status_code == 200 and sim.stats()["callnos"] == 0


def test_prefix_is_required_on_upstream_routes(http, make_sim):
    sim = make_sim(prefix="/aicc/")
    assert sim.url.endswith("/aicc")
    assert login(http, sim)["token"]
    bare = sim.url.removesuffix("/aicc")
    assert http.post(bare + LOGIN, json=CREDENTIALS, timeout=5).status_code == 404
    assert http.get(sim.url + "/_sim/stats", timeout=5).json()["login"] == 1
    assert http.get(bare + "/_sim/stats", timeout=5).status_code == 200


def test_precomputed_mode_serves_cached_batches(http, make_sim):
    sim = make_sim(precomputed=True)
    token = sim.issue_token()
    first, second = callnos(http, sim, token, 20), callnos(http, sim, token, 20)
    assert first.content == second.content and len(records_of(first)) == 20
    assert callnos(http, sim, "bad").status_code == 401
    stats = sim.stats()
    assert stats["callnos"] == 3 and stats["callnos_ok"] == 2 and stats["records_out"] == 40


def test_bad_input_never_breaks_the_server(http, sim):
    assert http.get(sim.url + CALLNOS, timeout=5).status_code == 405
    assert http.post(sim.url + "/nowhere", timeout=5).status_code == 404
    too_big = http.post(sim.url + LOGIN, data=b"x" * (2 << 20), timeout=5)
    assert too_big.status_code == 413
    connection = HTTPConnection("127.0.0.1", sim.port, timeout=5)
    connection.putrequest("POST", LOGIN)
    connection.putheader("Content-Length", "nope")
    connection.endheaders()
    assert connection.getresponse().status == 400
    connection.close()
    assert login(http, sim)["token"] and sim.stats()["internal_errors"] == 0


def test_keep_alive_serves_several_requests_on_one_connection(sim):
    connection = HTTPConnection("127.0.0.1", sim.port, timeout=5)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {sim.issue_token()}"}
    body = json.dumps({"subCCNo": 1, "vdnId": 1, "serviceId": 5, "batchCount": 2})
    for _ in range(3):
        connection.request("POST", CALLNOS, body=body, headers=headers)
        answer = connection.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["result"] in (0, "0")
    connection.close()
    assert sim.stats()["records_out"] == 6


def test_cli_prints_the_listening_line_and_stops_on_sigterm(http):
    env = {**os.environ, "SIM_PORT": "0", "SIM_PREFIX": "/p", "SIM_FAULT": "login=latency:1"}
    process = subprocess.Popen([sys.executable, "-m", "callnos_gateway.simulator", "--seed", "3"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"simulator listening on (http://127\.0\.0\.1:\d+/p)", line)
        assert match, line
        assert http.post(match.group(1) + LOGIN, json=CREDENTIALS, timeout=5).status_code == 200
        assert http.get(match.group(1) + "/_sim/stats", timeout=5).json()["faults_applied"] == {"latency:1": 1}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
        process.communicate()


def test_cli_refuses_bad_settings():
    env = {**os.environ, "SIM_SHAPE": "round"}
    done = subprocess.run([sys.executable, "-m", "callnos_gateway.simulator"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 2 and "round" in done.stderr
