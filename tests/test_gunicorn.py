"""The gateway as ops run it: gunicorn with python:callnos_gateway.server.gunicorn_config and two workers, the simulator as a process.

One gunicorn serves the whole module (starting one takes about a second); the
tests read its metrics, its stderr and the simulator's counters. The last test
kills the workers, so it stays last.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from servers import gunicorn_process, json_lines, run_gunicorn, simulator_process, worker_pids

USER, PASSWORD = "ops-user", "ops-pa55word-81f3c9"
API_KEY = "ops-key-5d2e77a1b0"
FETCH = {"task_id": 4242, "batch_size": 3}
CALL_DATA = "/v1/call-data"


def gateway_env(upstream_url: str, **extra: str) -> dict[str, str]:
    """Settings for a gunicorn in login mode in front of the simulator."""
    return {
        "CALLNOS_UPSTREAM_URL": upstream_url, "CALLNOS_USERNAME": USER, "CALLNOS_PASSWORD": PASSWORD,
        "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
        "CALLNOS_READ_TIMEOUT": "5", **extra,
    }


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with simulator_process(tmp_path_factory.mktemp("sim"), "--user", USER, "--password", PASSWORD) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(sim, tmp_path_factory):
    with gunicorn_process(tmp_path_factory.mktemp("gunicorn"), gateway_env(sim.url)) as running:
        _wait_for(lambda: len(worker_pids(running.process.pid)) == 2)
        running.extra["workers"] = set(worker_pids(running.process.pid))
        yield running


def scrape(gateway) -> dict[tuple, float]:
    """The gateway's metrics as {(sample name, sorted labels): value}."""
    text = requests.get(gateway.url + "/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples carrying ``labels`` (whatever their other labels, e.g. client)."""
    wanted = set(labels.items())
    return sum(v for (sample, have), v in samples.items() if sample == name and wanted <= set(have))


def fetch(gateway, request_id: str) -> requests.Response:
    """One call on a new connection, so that the workers share the calls."""
    headers = {"X-API-Key": API_KEY, "X-Request-ID": request_id, "Connection": "close"}
    return requests.post(gateway.url + CALL_DATA, json=FETCH, headers=headers, timeout=10)


def access_lines(gateway) -> dict[str, list[dict]]:
    """Access lines of the gateway's log, by request id."""
    by_id: dict[str, list[dict]] = {}
    for line in json_lines(gateway.log()):
        if line.get("logger") == "callnos.access":
            by_id.setdefault(line["request_id"], []).append(line)
    return by_id


def pids_serving(gateway, request_ids) -> set[int]:
    lines = access_lines(gateway)
    return {lines[rid][0]["pid"] for rid in request_ids if rid in lines}


@pytest.fixture(scope="module")
def traffic(gateway):
    """Send calls in parallel rounds until both workers have served some (bounded)."""
    before = scrape(gateway)
    answers: dict[str, requests.Response] = {}
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(20):
            ids = [f"ops-{uuid.uuid4().hex}" for _ in range(6)]
            answers.update(zip(ids, pool.map(lambda rid: fetch(gateway, rid), ids)))
            time.sleep(0.05)  # let the access lines reach the log
            if pids_serving(gateway, answers) == gateway.extra["workers"]:
                break
    return {"before": before, "after": scrape(gateway), "answers": answers}


def test_probes_answer_without_taking_records(gateway, sim):
    taken = requests.get(sim.url + "/_sim/stats", timeout=5).json()["callnos"]
    for path, status in (("/healthz", "ok"), ("/livez", "ok"), ("/readyz", "ready")):
        answer = requests.get(gateway.url + path, timeout=5)
        assert (answer.status_code, answer.json()) == (200, {"status": status})
        assert answer.headers["X-Request-ID"]
    assert requests.get(sim.url + "/_sim/stats", timeout=5).json()["callnos"] == taken


def test_both_workers_served_and_every_answer_is_a_batch(gateway, traffic):
    assert len(gateway.extra["workers"]) == 2
    assert pids_serving(gateway, traffic["answers"]) == gateway.extra["workers"]
    assert {answer.status_code for answer in traffic["answers"].values()} == {200}


def test_metrics_add_up_across_workers(gateway, traffic, sim):
    before, after, answers = traffic["before"], traffic["after"], traffic["answers"]
    sent = len(answers)
    handed_out = sum(answer.json()["count"] for answer in answers.values())
    route = {"route": CALL_DATA, "method": "POST", "status": "200"}

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("callnos_gateway_requests_total", **route) == sent
    assert delta("callnos_gateway_request_duration_seconds_count", route=CALL_DATA) == sent
    assert delta("callnos_gateway_upstream_duration_seconds_count") == sent
    assert delta("callnos_gateway_records_total") == handed_out == sent * FETCH["batch_size"]
    logins = requests.get(sim.url + "/_sim/stats", timeout=5).json()["login"]
    assert value(after, "callnos_gateway_token_events_total", event="login") == logins == 1  # both workers share it
    assert value(after, "callnos_gateway_in_flight") == 1  # the scrape itself


def test_one_json_access_line_per_request(gateway, traffic):
    lines = access_lines(gateway)
    for request_id, answer in traffic["answers"].items():
        assert len(lines[request_id]) == 1
        line = lines[request_id][0]
        assert line["batch_id"] == answer.json()["batch_id"] == answer.headers["X-Batch-ID"]
        assert (line["method"], line["path"], line["status"], line["upstream_status"]) == ("POST", CALL_DATA, 200, 200)
        assert line["records"] == answer.json()["count"] and line["code"] is None
        assert line["duration_ms"] >= line["upstream_ms"] > 0
        assert re.fullmatch(r"[0-9a-f]{12}", line["client"])
        assert line["pid"] in gateway.extra["workers"]


def test_an_upstream_failure_is_counted_and_logged(gateway):
    before = scrape(gateway)
    answer = fetch(gateway, "sim-fault-status:503")
    assert (answer.status_code, answer.json()["code"]) == (502, "upstream_error")
    after = scrape(gateway)
    assert value(after, "callnos_gateway_upstream_errors_total", code="upstream_error") == \
        value(before, "callnos_gateway_upstream_errors_total", code="upstream_error") + 1
    line = access_lines(gateway)["sim-fault-status:503"][-1]
    assert (line["status"], line["code"], line["upstream_status"]) == (502, "upstream_error", 503)


def test_every_line_of_the_log_is_json_and_none_holds_a_secret(gateway, traffic, sim):
    text = gateway.log()
    lines = json_lines(text)  # gunicorn's own lines too: one JSON object each
    assert any(line["message"].startswith("Booting worker") for line in lines)
    start = next(line for line in lines if line["message"] == "callnos-gateway starting")
    assert start["gunicorn"]["workers"] == 2 and start["settings"]["api_keys"] == 1
    token = requests.get(sim.url + "/_sim/stats", timeout=5).json()["last_headers"]["authorization"]
    assert token.startswith("Bearer ") and len(token) > 20
    for secret in (PASSWORD, API_KEY, token.removeprefix("Bearer ")):
        assert secret not in text


def test_a_normal_start_logs_no_warning(gateway, traffic):
    """A warning at every worker boot (gevent's monkey-patch notice) would train ops to ignore warnings."""
    assert [line["message"][:120] for line in json_lines(gateway.log()) if line["level"] == "WARNING"] == []


def test_the_api_document_and_docs_are_served(gateway):
    document = requests.get(gateway.url + "/openapi.json", timeout=5).json()
    validate(document)
    assert {CALL_DATA, "/healthz", "/livez", "/readyz", "/metrics"} <= set(document["paths"])
    page = requests.get(gateway.url + "/docs", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert requests.get(gateway.url + "/docs/assets/swagger-ui-bundle.js", timeout=5).status_code == 200


def test_a_dead_workers_in_flight_request_leaves_the_gauge(gateway):
    """In-flight is a live sum: a killed worker's share goes (child_exit), its counts stay."""
    slow = threading.Thread(target=lambda: _quietly(fetch, gateway, "sim-fault-latency:3000"), daemon=True)
    slow.start()
    _wait_for(lambda: value(scrape(gateway), "callnos_gateway_in_flight") == 2)
    counted = value(scrape(gateway), "callnos_gateway_requests_total", route=CALL_DATA, method="POST", status="200")
    old = set(worker_pids(gateway.process.pid))
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: len(set(worker_pids(gateway.process.pid)) - old) == 2 and _serves(gateway))
    after = scrape(gateway)
    assert value(after, "callnos_gateway_in_flight") == 1
    assert value(after, "callnos_gateway_requests_total", route=CALL_DATA, method="POST", status="200") == counted


def _quietly(call, *args):
    try:
        call(*args)
    except requests.RequestException:
        pass  # the worker answering it is killed on purpose


def _serves(gateway) -> bool:
    try:
        return requests.get(gateway.url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_readyz_is_a_503_problem_when_the_upstream_refuses_the_login(sim, tmp_path):
    url_with_userinfo = sim.url.replace("http://", "http://proxy-user:url-secret-9d1e@")
    env = gateway_env(url_with_userinfo, CALLNOS_PASSWORD="not-the-password")
    with gunicorn_process(tmp_path, env) as refused:
        answer = requests.get(refused.url + "/readyz", timeout=10)
        assert answer.status_code == 503
        assert answer.headers["Content-Type"] == "application/problem+json"
        body = answer.json()
        assert (body["code"], body["reason"]) == ("not_ready", "upstream_auth_failed")
        assert "refused the login" in body["detail"]
        assert requests.get(refused.url + "/healthz", timeout=5).status_code == 200
    log = refused.log()
    assert "not-the-password" not in log and "url-secret-9d1e" not in log
    start = next(line for line in json_lines(log) if line["message"] == "callnos-gateway starting")
    assert ":***@127.0.0.1:" in start["settings"]["upstream_url"]


def test_preloading_the_app_in_the_master_is_safe(sim, tmp_path):
    """With GUNICORN_PRELOAD=true the app is built before the fork: nothing may be shared wrongly."""
    with gunicorn_process(tmp_path, gateway_env(sim.url, GUNICORN_PRELOAD="true")) as preloaded:
        ids = [f"preload-{n}" for n in range(8)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(lambda rid: fetch(preloaded, rid).status_code, ids)) == {200}
        after = scrape(preloaded)
        assert value(after, "callnos_gateway_requests_total", route=CALL_DATA, method="POST", status="200") == 8
        assert value(after, "callnos_gateway_records_total") == 8 * FETCH["batch_size"]
        assert len(json_lines(preloaded.log())) > 8


BAD_SETTINGS = [
    ({"CALLNOS_UPSTREAM_URL": ""}, "CALLNOS_UPSTREAM_URL"),
    ({"CALLNOS_READ_TIMEOUT": "soon"}, "CALLNOS_READ_TIMEOUT"),
    ({"CALLNOS_API_KEYS": ""}, "CALLNOS_API_KEYS"),
    ({"CALLNOS_ENV_FILE": "/no/such.env"}, "CALLNOS_ENV_FILE"),
    ({"GUNICORN_WORKERS": "many"}, "GUNICORN_WORKERS"),
    ({"GUNICORN_THREADS": "0"}, "GUNICORN_THREADS"),
    ({"GUNICORN_WORKER_CONNECTIONS": "0"}, "GUNICORN_WORKER_CONNECTIONS"),
    ({"GUNICORN_TIMEOUT": "3"}, "GUNICORN_TIMEOUT"),
    ({"GUNICORN_LOG_LEVEL": "chatty"}, "GUNICORN_LOG_LEVEL"),
    ({"PROMETHEUS_MULTIPROC_DIR": "/proc/no-metrics-here"}, "PROMETHEUS_MULTIPROC_DIR"),
]


@pytest.mark.parametrize("bad, named", BAD_SETTINGS, ids=[named for _, named in BAD_SETTINGS])
def test_a_bad_setting_stops_the_start_with_one_line_naming_it(bad, named):
    result = run_gunicorn(gateway_env("http://127.0.0.1:9", **bad))
    assert result.returncode != 0
    assert "Traceback" not in result.stdout
    [line] = json_lines(result.stdout)
    assert named in line["message"] and line["settings"] == [named] and line["level"] == "CRITICAL"
