"""What the gevent worker must not change: the deadline watchdog, and a quick graceful stop.

Under gevent the watchdog "thread" of src/callnos_gateway/upstream/deadline.py is a greenlet and
the socket it shuts down is a gevent socket; this is the one place where the
gateway relies on one thread acting on another's blocked read, so it is
shown here under gunicorn, one worker, while normal requests go on. (The
token lock, the SQLite and Redis stores and the metrics are covered under
this worker by test_load.py, test_idempotency_processes.py and
test_gunicorn.py.)
"""

from __future__ import annotations

import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from servers import gunicorn_process, simulator_process

API_KEY = "gevent-key"
READ_TIMEOUT = 1.0  # the total deadline is read + 2 = 3 s


def fetch(url: str, request_id: str) -> tuple[int, str | None, float]:
    started = time.monotonic()
    answer = requests.post(url + "/v1/call-data", json={"task_id": 1001, "batch_size": 5}, timeout=20,
                           headers={"X-API-Key": API_KEY, "X-Request-ID": request_id, "Connection": "close"})
    code = answer.json().get("code") if answer.status_code != 200 else None
    return answer.status_code, code, time.monotonic() - started


def test_a_dripping_upstream_is_cut_at_the_total_deadline_while_other_requests_are_served(tmp_path):
    env = {"CALLNOS_UPSTREAM_URL": "", "CALLNOS_USERNAME": "demo", "CALLNOS_PASSWORD": "demo-password",
           "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
           "CALLNOS_READ_TIMEOUT": str(READ_TIMEOUT)}
    with simulator_process(tmp_path) as sim, \
            gunicorn_process(tmp_path, {**env, "CALLNOS_UPSTREAM_URL": sim.url}, workers=1) as gateway:
        assert fetch(gateway.url, "warm-up")[0] == 200  # the login, out of the way
        with ThreadPoolExecutor(max_workers=3) as pool:
            dripping = [pool.submit(fetch, gateway.url, "sim-fault-drip:20") for _ in range(3)]
            time.sleep(0.5)
            normal = [fetch(gateway.url, f"normal-{n}") for n in range(10)]
            cut = [future.result() for future in dripping]
    assert all(status == 200 and seconds < 1.0 for status, _, seconds in normal), normal
    for status, code, seconds in cut:
        assert (status, code) == (504, "upstream_timeout")
        assert 2.5 < seconds < 3.0 + READ_TIMEOUT + 1.0


def test_a_graceful_stop_does_not_wait_for_idle_kept_alive_connections(tmp_path):
    env = {"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "t0ken",
           "CALLNOS_API_KEYS": API_KEY}
    with gunicorn_process(tmp_path, env, workers=1) as gateway:
        host, port = gateway.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as idle:
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.recv(65536).startswith(b"HTTP/1.1 200")  # then the connection stays open, idle
            started = time.monotonic()
            gateway.process.send_signal(signal.SIGTERM)
            assert gateway.process.wait(timeout=15) == 0
    assert time.monotonic() - started < 5  # not the keep-alive timeout (75 s) nor the graceful timeout


class _ServedOnce:
    """Stands in for gunicorn's reader after one request: nothing of the next one read yet."""

    class buf:  # noqa: N801 (the attribute gunicorn's unreader has)
        @staticmethod
        def getvalue() -> bytes:
            return b""


def test_a_stopping_worker_still_serves_a_request_already_on_its_way():
    """At a stop, an idle kept-alive connection is closed only after a quiet moment.

    A busy client sends its next request a moment after the previous answer;
    closing the connection the instant the worker stops lost such requests
    (5 of 1,000 client errors in tests/test_load.py's kill -TERM run).
    """
    from callnos_gateway.server.worker import HeaderDeadline, _Connection

    ours, theirs = socket.socketpair()
    try:
        connection = _Connection(ours)
        connection.unreader = _ServedOnce()
        theirs.sendall(b"POST /v1/call-data HTTP/1.1\r\n")  # the next request is already on its way
        with HeaderDeadline(connection, idle=5.0, header=1.0, alive=lambda: False):
            pass  # entered: the request will be read and answered (with Connection: close)
    finally:
        ours.close()
        theirs.close()


def test_a_stopping_worker_closes_a_quiet_kept_alive_connection_within_about_a_second():
    from callnos_gateway.server.worker import HeaderDeadline, _Connection

    ours, theirs = socket.socketpair()
    try:
        connection = _Connection(ours)
        connection.unreader = _ServedOnce()
        started = time.monotonic()
        try:
            with HeaderDeadline(connection, idle=75.0, header=1.0, alive=lambda: False):
                raise AssertionError("a quiet connection of a stopping worker must not wait for a request")
        except StopIteration:
            pass
        assert time.monotonic() - started < 1.5
    finally:
        ours.close()
        theirs.close()
