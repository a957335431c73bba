"""Traces under gunicorn's gevent worker, exported to a real OTLP/HTTP receiver on loopback.

One request gives one trace: the server span continues the client's
``traceparent``, and the login and callnos exchanges are its children, each
sending its own ``traceparent`` upstream. Spans carry names, ids, counts and
statuses, never a token, password, key, phone number or record content; 20
requests at once in one worker's greenlets never share or swap a span.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from otlp_receiver import OtlpReceiver
from servers import ROOT, gunicorn_process, json_lines, run_gunicorn, simulator_process
from callnos_gateway.telemetry import tracing

USER, PASSWORD = "trace-user", "trace-pa55word-8e1f"
API_KEY = "trace-key-5d7a20c4"
SERVER, CLIENT = 2, 3  # OTLP span kinds
TASK = 1001


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    # Each callnos answer waits 150 ms, so concurrent requests overlap inside a worker.
    args = ("--user", USER, "--password", PASSWORD, "--fault", "callnos=latency:150")
    with simulator_process(tmp_path_factory.mktemp("sim"), *args) as running:
        yield running


@pytest.fixture(scope="module")
def receiver():
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def gateway(sim, receiver, tmp_path_factory):
    env = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": USER, "CALLNOS_PASSWORD": PASSWORD,
           "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
           "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with gunicorn_process(tmp_path_factory.mktemp("gunicorn"), env, workers=1, threads=25) as running:
        yield running


def traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, parent_id, f"00-{trace_id}-{parent_id}-01"


def fetch(gateway, header: str, size: int = 3) -> dict:
    answer = requests.post(gateway.url + "/v1/call-data", json={"task_id": TASK, "batch_size": size},
                           headers={"X-API-Key": API_KEY, "traceparent": header}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def one_trace(receiver, trace_id: str, names: set[str]) -> dict[str, list]:
    """The spans of one trace by name, once every name in ``names`` arrived."""
    def arrived(spans):
        return names <= {span.name for span in spans if span.trace_id == trace_id}
    spans = [span for span in receiver.wait_for(arrived) if span.trace_id == trace_id]
    by_name: dict[str, list] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    return by_name


def test_a_traced_request_is_one_trace_with_the_inbound_parent_and_its_upstream_children(gateway, receiver, sim):
    trace_id, parent_id, header = traceparent()
    batch = fetch(gateway, header)
    spans = one_trace(receiver, trace_id, {"POST /v1/call-data", "upstream login", "upstream callnos"})
    [server], [login], [callnos] = spans.pop("POST /v1/call-data"), spans.pop("upstream login"), spans.pop(
        "upstream callnos")
    assert spans == {}  # nothing else in the trace
    assert (server.parent_id, server.kind, server.service) == (parent_id, SERVER, "callnos-gateway")
    assert (login.parent_id, login.kind, callnos.parent_id, callnos.kind) == (server.span_id, CLIENT, server.span_id,
                                                                             CLIENT)
    assert {key: server.attributes[key] for key in (
        "http.route", "http.response.status_code", "callnos.client", "callnos.task", "callnos.batch_id",
        "callnos.records", "callnos.upstream.status", "callnos.upstream.calls")} == {
        "http.route": "/v1/call-data", "http.response.status_code": 200, "callnos.client": server.attributes[
            "callnos.client"], "callnos.task": str(TASK), "callnos.batch_id": batch["batch_id"],
        "callnos.records": batch["count"], "callnos.upstream.status": 200, "callnos.upstream.calls": 2}
    assert server.attributes["callnos.client"] and server.attributes["callnos.client"] not in API_KEY
    assert callnos.attributes == {"callnos.interface": "callnos", "http.request.method": "POST",
                                  "url.path": callnos.attributes["url.path"], "http.response.status_code": 200,
                                  "callnos.upstream.attempts": 1}
    assert login.attributes["callnos.interface"] == "login" and login.attributes["http.response.status_code"] == 200
    seen = requests.get(sim.url + "/_sim/stats", timeout=5).json()["last_headers_by_endpoint"]
    assert seen["login"]["traceparent"] == f"00-{trace_id}-{login.span_id}-01"
    assert seen["callnos"]["traceparent"] == f"00-{trace_id}-{callnos.span_id}-01"
    access = [line for line in json_lines(gateway.log()) if line.get("batch_id") == batch["batch_id"]
              and line.get("path") == "/v1/call-data"]
    assert [(line["trace_id"], line["span_id"]) for line in access] == [(trace_id, server.span_id)]
    token = seen["callnos"]["authorization"].removeprefix("Bearer ")
    assert_no_secret_or_record_content(receiver, batch, (token, PASSWORD, API_KEY))


def assert_no_secret_or_record_content(receiver, batch: dict, secret_values: tuple[str, ...]) -> None:
    exported = b"".join(receiver.bodies)
    assert exported and len(secret_values[0]) >= 8
    for value in secret_values:
        assert value.encode() not in exported
    texts = set()
    for record in batch["records"]:
        texts |= {*record["called_numbers"], record["caller_number"], record["customer_id"], record["call_data"]}
        texts |= {record["ie_data"]["raw"], record["ie_data"]["caller_number"]} if record.get("ie_data") else set()
    texts = {text for text in texts if text and len(text) >= 5}
    assert texts  # the batch had phone numbers to look for
    assert [text for text in texts if text.encode() in exported] == []


def test_twenty_concurrent_traced_requests_never_mix(gateway, receiver):
    headers = [traceparent() for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        batches = list(pool.map(lambda parts: fetch(gateway, parts[2], 2), headers))
    wanted = {trace_id for trace_id, _, _ in headers}

    def complete(spans):
        return sum(1 for span in spans if span.trace_id in wanted and span.name == "upstream callnos") >= 20
    spans = receiver.wait_for(complete)
    for (trace_id, parent_id, _), batch in zip(headers, batches):
        mine = [span for span in spans if span.trace_id == trace_id]
        [server] = [span for span in mine if span.kind == SERVER]
        assert (server.parent_id, server.attributes["callnos.batch_id"]) == (parent_id, batch["batch_id"])
        children = [span for span in mine if span.kind == CLIENT]
        assert [span.name for span in children] == ["upstream callnos"]  # the token was had already
        assert {span.parent_id for span in children} == {server.span_id}
    assert len({span.span_id for span in spans}) == len(spans)


def test_a_refresh_after_a_refusal_is_a_child_of_the_refused_exchange(gateway, receiver, sim):
    """The upstream refuses the token (401): the refresh runs inside that exchange, which is then re-sent."""
    requests.post(sim.url + "/_sim/expire-tokens", json={}, timeout=5)
    trace_id, _, header = traceparent()
    fetch(gateway, header)
    spans = one_trace(receiver, trace_id, {"POST /v1/call-data", "upstream refresh", "upstream callnos"})
    [server], [refresh], [callnos] = (spans["POST /v1/call-data"], spans["upstream refresh"],
                                      spans["upstream callnos"])
    assert (callnos.parent_id, refresh.parent_id) == (server.span_id, callnos.span_id)
    assert refresh.attributes["http.response.status_code"] == 200 == callnos.attributes["http.response.status_code"]
    seen = requests.get(sim.url + "/_sim/stats", timeout=5).json()["last_headers_by_endpoint"]
    assert seen["refresh"]["traceparent"] == f"00-{trace_id}-{refresh.span_id}-01"


def test_an_upstream_failure_marks_both_spans(gateway, receiver, sim):
    requests.post(sim.url + "/_sim/run-fault", json={"endpoint": "callnos", "fault": "status:500"}, timeout=5)
    try:
        trace_id, _, header = traceparent()
        answer = requests.post(gateway.url + "/v1/call-data", json={"task_id": TASK, "batch_size": 2},
                               headers={"X-API-Key": API_KEY, "traceparent": header}, timeout=30)
    finally:
        requests.post(sim.url + "/_sim/run-fault", json={"endpoint": "callnos", "fault": None}, timeout=5)
    assert answer.status_code == 502
    spans = one_trace(receiver, trace_id, {"POST /v1/call-data", "upstream callnos"})
    [server], [callnos] = spans["POST /v1/call-data"], spans["upstream callnos"]
    assert (server.attributes["http.response.status_code"], server.attributes["callnos.problem"],
            server.attributes["callnos.upstream.status"]) == (502, answer.json()["code"], 500)
    assert (server.status, server.status_message) == (2, answer.json()["code"])
    assert (callnos.status, callnos.status_message, callnos.attributes["http.response.status_code"]) == (
        2, "HTTP 500", 500)


def test_with_preload_each_worker_still_starts_its_own_tracer(sim, tmp_path):
    """The app is built in the master; the tracer is not (post_worker_init), so both workers export."""
    with OtlpReceiver() as own:
        env = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": USER, "CALLNOS_PASSWORD": PASSWORD,
               "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
               "GUNICORN_PRELOAD": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": own.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        with gunicorn_process(tmp_path, env, workers=2) as preloaded:
            ids, pids, deadline = [], set(), time.monotonic() + 30
            # Whichever worker accepts first answers (gevent): send rounds until both have answered.
            while len(pids) < 2 and time.monotonic() < deadline:
                with ThreadPoolExecutor(max_workers=8) as pool:
                    for trace_id, _, header in [traceparent() for _ in range(16)]:
                        ids.append(trace_id)
                        pool.submit(fetch, preloaded, header, 1)
                pids = {line["pid"] for line in json_lines(preloaded.log()) if line.get("logger") == "callnos.access"}
            spans = own.wait_for(lambda found: {s.trace_id for s in found if s.kind == SERVER} >= set(ids))
    assert {span.trace_id for span in spans if span.kind == SERVER} >= set(ids)
    assert len(pids) == 2  # both workers answered, and every request's span arrived


def test_settings_turn_tracing_on_and_off():
    assert not tracing.requested({})
    assert tracing.requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert tracing.requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.requested({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"})
    assert not tracing.requested({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})
    assert tracing.problems({"OTEL_TRACES_EXPORTER": "jaeger", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).keys() == {
        "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL"}
    assert tracing.problems({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}) == {}


def test_gunicorn_refuses_an_exporter_it_cannot_run():
    done = run_gunicorn({"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_TOKEN": "t" * 16,
                         "CALLNOS_AUTH_MODE": "static", "CALLNOS_ALLOW_ANONYMOUS": "true",
                         "OTEL_TRACES_EXPORTER": "zipkin"})
    assert done.returncode == 3
    [line] = [line for line in json_lines(done.stdout) if "OTEL_TRACES_EXPORTER" in line.get("message", "")]
    assert line["settings"] == ["OTEL_TRACES_EXPORTER"]


OFF_PROBE = """
import sys
from callnos_gateway.app import create_app
from callnos_gateway.settings import load_settings
def tracing_modules():
    return {name for name in sys.modules if name.startswith(("opentelemetry.sdk.trace", "opentelemetry.exporter"))}
client = create_app(load_settings()).test_client()
before = set(sys.modules)
answer = client.get("/healthz", headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
print(answer.status_code, sorted(tracing_modules()), sorted(set(sys.modules) - before))
"""


def test_tracing_off_imports_no_opentelemetry_code():
    """Off, neither the trace SDK nor an exporter is loaded, and a request imports nothing at all.

    (redis-py loads OpenTelemetry's metrics SDK when it is installed, at import
    time, for its own optional metrics: not ours, and not per request.)
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "CALLNOS_"))}
    env.update({"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_ALLOW_ANONYMOUS": "true",
                "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "t" * 16})
    done = subprocess.run([sys.executable, "-c", OFF_PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["200", "[]", "[]"], done.stdout + done.stderr
