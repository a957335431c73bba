"""Every upstream row of CONTRACT section 3, and the no-retry rule.

Each test counts the callnos requests the upstream received: where a request
may have reached the upstream, it must have been sent exactly once.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from conftest import fetch, login_settings
from conftest import settings_for as settings_for_static
from callnos_gateway.simulator import Simulator, SimulatorConfig
from conftest import SIM_PASSWORD, SIM_USER

MAY_BE_TAKEN = "may have been taken"


def problem_of(response):
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == response.status_code
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.mark.parametrize("status", [500, 502, 503, 400, 404])
def test_a_non_2xx_status_is_upstream_error_sent_once(sim, client, status):
    sim.push_faults("callnos", [f"status:{status}"])
    body = problem_of(fetch(client))
    assert (body["status"], body["code"], body["upstream_status"]) == (502, "upstream_error", status)
    assert sim.stats()["callnos"] == 1


def test_a_non_zero_result_is_upstream_rejected(sim, client):
    sim.push_faults("callnos", ["result:0100002"])
    body = problem_of(fetch(client))
    assert (body["status"], body["code"], body["upstream_result"]) == (502, "upstream_rejected", "0100002")
    assert isinstance(body.get("upstream_message", ""), str)
    assert sim.stats()["callnos"] == 1


@pytest.mark.parametrize("fault", ["broken_json", "wrong_shape", "wrong_shape:1", "wrong_shape:2"])
def test_a_body_that_is_not_the_expected_json_is_upstream_bad_response(sim, client, fault):
    sim.push_faults("callnos", [fault])
    body = problem_of(fetch(client))
    assert (body["status"], body["code"]) == (502, "upstream_bad_response")
    assert sim.stats()["callnos"] == 1


def test_a_huge_body_is_cut_off_at_the_limit(sim, gateway):
    client = gateway(login_settings(sim.url, max_response_bytes=64 * 1024))
    sim.push_faults("callnos", ["huge:5000000"])
    body = problem_of(fetch(client))
    assert (body["status"], body["code"]) == (502, "upstream_bad_response")
    assert sim.stats()["callnos"] == 1


def test_a_read_timeout_is_504_sent_once(sim, gateway):
    client = gateway(login_settings(sim.url, read_timeout=0.3))
    sim.push_faults("callnos", ["timeout:2"])
    body = problem_of(fetch(client))
    assert (body["status"], body["code"]) == (504, "upstream_timeout")
    assert MAY_BE_TAKEN in body["detail"]
    assert sim.stats()["callnos"] == 1


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_a_connection_broken_after_sending_is_connection_lost_sent_once(sim, client, fault):
    sim.push_faults("callnos", [fault])
    body = problem_of(fetch(client))
    assert (body["status"], body["code"]) == (502, "upstream_connection_lost")
    assert MAY_BE_TAKEN in body["detail"]
    assert sim.stats()["callnos"] == 1


def test_a_dripping_upstream_is_cut_at_the_total_deadline(sim, gateway):
    client = gateway(login_settings(sim.url, read_timeout=1.0, total_timeout=1.5))
    sim.push_faults("callnos", ["drip:20"])
    started = time.monotonic()
    body = problem_of(fetch(client, {"task_id": 1001, "batch_size": 100}))
    elapsed = time.monotonic() - started
    assert (body["status"], body["code"]) == (504, "upstream_timeout")
    assert elapsed < 1.5 + 1.0 + 0.5  # the deadline, plus at most one read timeout
    assert sim.stats()["callnos"] == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_upstream_unreachable_after_retries(gateway):
    client = gateway(login_settings(f"http://127.0.0.1:{free_port()}"))
    body = problem_of(fetch(client))
    assert (body["status"], body["code"]) == (502, "upstream_unreachable")
    assert MAY_BE_TAKEN not in body["detail"]


def test_an_upstream_down_at_first_and_back_later_is_reached_by_the_retries(gateway):
    port = free_port()
    client = gateway(login_settings(f"http://127.0.0.1:{port}", retry_backoff=0.3, connect_retries=2))
    late = Simulator(SimulatorConfig(port=port, user=SIM_USER, password=SIM_PASSWORD))
    starter = threading.Timer(0.15, late.start)
    starter.start()
    try:
        response = fetch(client)
        assert response.status_code == 200
        assert late.stats()["callnos"] == 1
    finally:
        starter.join()
        late.stop()


def test_slow_login_within_the_timeout_still_succeeds(sim, client):
    sim.push_faults("login", ["latency:400"])
    assert fetch(client).status_code == 200
    assert sim.stats()["callnos"] == 1


def test_a_login_that_times_out_is_504_and_callnos_is_never_called(sim, gateway):
    client = gateway(login_settings(sim.url, read_timeout=0.3))
    sim.push_faults("login", ["timeout:2"])
    body = problem_of(fetch(client))
    assert body["code"] == "upstream_timeout"
    assert sim.stats()["callnos"] == 0
    assert "may have been taken" not in body["detail"]  # no callnos was sent: the detail must not scare the client
    assert "no business request was sent" in body["detail"].lower()


def test_latency_below_the_read_timeout_is_fine(sim, client):
    sim.push_faults("callnos", ["latency:200"])
    assert fetch(client).status_code == 200


def test_retries_do_not_multiply_when_the_login_cannot_connect(gateway, caplog):
    client = gateway(login_settings(f"http://127.0.0.1:{free_port()}", connect_retries=2))
    with caplog.at_level("WARNING", logger="callnos_gateway.upstream.transport"):
        body = problem_of(fetch(client))
    assert body["code"] == "upstream_unreachable"
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2, "the login's own retries must not be retried again by the callnos exchange"


def test_an_upstream_dripping_its_status_line_is_cut_at_the_total_deadline(gateway):
    """The per-read timeout never fires on a byte every 0.2 s; the watchdog must."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip_headers() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 200:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    dripper = threading.Thread(target=drip_headers, daemon=True)
    dripper.start()
    client = gateway(settings_for_static(f"http://127.0.0.1:{port}", read_timeout=1.0, total_timeout=1.5))
    started = time.monotonic()
    body = problem_of(fetch(client))
    elapsed = time.monotonic() - started
    stop.set()
    listener.close()
    assert (body["status"], body["code"]) == (504, "upstream_timeout")
    assert elapsed < 2.5
