"""CONTRACT 11 against the production configuration: slow, idle and half-open clients cannot starve it.

One gunicorn as shipped (python:callnos_gateway.server.gunicorn_config, 2 workers, default header timeout)
serves the loads: each of section 11's loads on its own, then all together,
while a normal client fetches on fresh connections and times every answer.
A second gunicorn with ``CALLNOS_HEADER_TIMEOUT=1`` shows connections with
incomplete headers being closed. Real sockets on loopback; bounded in time.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from servers import gunicorn_process, json_lines, simulator_process
from slow_clients import SIZES, UNREAD_BATCH, HostileClients, normal_client

API_KEY = "slow-clients-key"
LOAD_SECONDS = 3.0  # the normal client's run while a load is open
P99_LIMIT_MS = 1000.0


def gateway_env(sim_url: str, store: str, **extra: str) -> dict[str, str]:
    return {"CALLNOS_UPSTREAM_URL": sim_url, "CALLNOS_USERNAME": "demo", "CALLNOS_PASSWORD": "demo-password",
            "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
            "CALLNOS_IDEMPOTENCY_URL": f"sqlite:///{store}", **extra}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with simulator_process(tmp_path_factory.mktemp("sim")) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(sim, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gateway")
    with gunicorn_process(tmp, gateway_env(sim.url, tmp / "idempotency.sqlite3")) as running:
        yield running


def assert_served_normally(gateway, probe) -> None:
    row = probe.row()
    assert probe.statuses == {200: len(probe.latencies_ms)}, row
    assert probe.percentile(0.99) < P99_LIMIT_MS, row
    assert "WORKER TIMEOUT" not in gateway.log()


def assert_normal_after(gateway) -> None:
    """Right after the clients go: fresh connections answered at once, no request left in flight."""
    assert_served_normally(gateway, normal_client(gateway.url, API_KEY, 200, 10))
    assert requests.get(gateway.url + "/healthz", timeout=2).status_code == 200
    metrics = requests.get(gateway.url + "/metrics", timeout=2).text
    assert "\ncallnos_gateway_in_flight 1.0\n" in metrics  # the scrape itself


def access_lines(gateway, request_ids) -> dict[str, dict]:
    wanted = set(request_ids)
    return {line["request_id"]: line for line in json_lines(gateway.log())
            if line.get("logger") == "callnos.access" and line.get("request_id") in wanted}


def assert_unread_batches_kept(gateway, sim, keys) -> None:
    """Each never-read answer is logged with its batch_id; a retry with its key gets that batch again."""
    logged = access_lines(gateway, keys)
    assert set(logged) == set(keys)
    taken = requests.get(sim.url + "/_sim/stats", timeout=5).json()["records_taken"]
    for key in keys:
        line = logged[key]
        assert (line["status"], line["records"]) == (200, UNREAD_BATCH) and line["batch_id"]
        headers = {"X-API-Key": API_KEY, "Idempotency-Key": key, "Connection": "close"}
        retry = requests.post(gateway.url + "/v1/call-data", json={"task_id": 1001, "batch_size": UNREAD_BATCH},
                              headers=headers, timeout=10)
        assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
        assert retry.headers["X-Batch-ID"] == line["batch_id"] and retry.json()["count"] == UNREAD_BATCH
    assert requests.get(sim.url + "/_sim/stats", timeout=5).json()["records_taken"] == taken  # replays take none


@pytest.mark.parametrize("load", [*SIZES, "all"])
def test_a_normal_client_is_served_while_the_load_is_open(gateway, sim, load):
    sizes = SIZES if load == "all" else {load: SIZES[load]}
    with HostileClients(gateway.url, API_KEY, sizes, key_prefix=f"unread-{load}") as hostile:
        probe = normal_client(gateway.url, API_KEY, 2000, LOAD_SECONDS)
        assert hostile.report.opened.keys() >= sizes.keys()
    print(f"{load}: {probe.row()}")
    assert len(probe.latencies_ms) >= 20
    assert_served_normally(gateway, probe)
    assert_normal_after(gateway)
    if "unread" in sizes:
        assert_unread_batches_kept(gateway, sim, hostile.report.unread_keys)


@pytest.fixture(scope="module")
def quick(sim, tmp_path_factory):
    """A gateway whose connections get 1 s for their request headers, 1 s for the body, 1 s to read the answer."""
    tmp = tmp_path_factory.mktemp("quick")
    env = gateway_env(sim.url, tmp / "idempotency.sqlite3", CALLNOS_HEADER_TIMEOUT="1", CALLNOS_BODY_TIMEOUT="1",
                      CALLNOS_SEND_TIMEOUT="1")
    with gunicorn_process(tmp, env, workers=1) as running:
        yield running


def connect(gateway) -> socket.socket:
    host, port = gateway.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def seconds_until_closed(conn: socket.socket, drip: bytes = b"", every: float = 0.2) -> float:
    """Send ``drip`` every ``every`` seconds (nothing if empty) until the server closes; how long it took."""
    return answer_until_closed(conn, drip, every)[0]


def answer_until_closed(conn: socket.socket, drip: bytes = b"", every: float = 0.2) -> tuple[float, bytes]:
    """Like ``seconds_until_closed``, also returning what the server sent meanwhile."""
    started, received = time.monotonic(), b""
    conn.settimeout(every)
    while time.monotonic() - started < 5:
        try:
            if drip:
                conn.sendall(drip)
            chunk = conn.recv(65536)
            if not chunk:
                return time.monotonic() - started, received
            received += chunk
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started, received
    return float("inf"), received


def read_answer(conn: socket.socket) -> bytes:
    """One whole HTTP answer (head and Content-Length body) off a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += conn.recv(65536)
    return head


REQUEST = (f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-API-Key: {API_KEY}\r\n\r\n").encode()


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(quick):
    with connect(quick) as conn:
        assert 0.8 < seconds_until_closed(conn) < 2.5


def test_headers_dripped_slower_than_the_header_timeout_are_cut(quick):
    with connect(quick) as conn:
        conn.sendall(b"POST /v1/call-data HTTP/1.1\r\n")
        assert 0.8 < seconds_until_closed(conn, b"X-Drip: 1\r\n") < 2.5
    assert "WORKER TIMEOUT" not in quick.log()


def test_a_kept_alive_connection_may_idle_past_the_header_timeout_but_not_drip(quick):
    with connect(quick) as conn:
        for _ in range(2):  # the second request comes after 1.5 s of idle: keep-alive, not the header timeout
            conn.sendall(REQUEST)
            assert read_answer(conn).startswith(b"HTTP/1.1 200")
            time.sleep(1.5)
        conn.sendall(b"GET /healthz HTTP/1.1\r\n")  # then a request whose headers never end
        assert 0.8 < seconds_until_closed(conn, b"X-Drip: 1\r\n") < 2.5


def test_a_complete_request_within_the_header_timeout_is_answered(quick):
    with connect(quick) as conn:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            conn.sendall(piece)
            time.sleep(0.3)
        assert read_answer(conn).startswith(b"HTTP/1.1 200")


PIPELINED = 16  # 500-record answers, unread: far more than the socket buffers hold
BODY_HEAD = (f"POST /v1/call-data HTTP/1.1\r\nHost: x\r\nX-API-Key: {API_KEY}\r\n"
             "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n").encode()


def test_a_body_dripped_past_the_body_timeout_gets_a_408_and_the_connection_closes(quick):
    with connect(quick) as conn:
        conn.sendall(BODY_HEAD + b'{"task_id": 1001, "batch_size": 1, "x": "')
        seconds, answer = answer_until_closed(conn, b"y")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert 0.8 < seconds < 3.5, seconds
    assert head.startswith(b"HTTP/1.1 408 ") and b"connection: close" in head.lower()
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert (problem["status"], problem["code"], problem["type"]) == (408, "request_timeout",
                                                                    "urn:callnos-gateway:problem:request_timeout")
    assert "WORKER TIMEOUT" not in quick.log() and "request body late" in quick.log()


def test_a_body_sent_in_pieces_within_the_body_timeout_is_served(quick):
    body = json.dumps({"task_id": 1001, "batch_size": 2}).encode()
    with connect(quick) as conn:
        conn.sendall(BODY_HEAD.replace(b"4096", str(len(body)).encode()))
        for start in range(0, len(body), 10):
            time.sleep(0.1)
            conn.sendall(body[start:start + 10])
        assert read_answer(conn).startswith(b"HTTP/1.1 200")


def test_a_client_that_never_reads_its_answers_is_closed_and_its_batches_kept(quick, sim):
    """Pipelined 500-record requests, none read: once the buffers are full the send stalls, and 1 s later it is cut."""
    keys = [f"never-reads-{n}" for n in range(PIPELINED)]
    taken_before = requests.get(sim.url + "/_sim/stats", timeout=5).json()["records_taken"]
    body = json.dumps({"task_id": 1001, "batch_size": UNREAD_BATCH}).encode()
    heads = [(f"POST /v1/call-data HTTP/1.1\r\nHost: x\r\nX-API-Key: {API_KEY}\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(body)}\r\nIdempotency-Key: {key}\r\nX-Request-ID: {key}\r\n\r\n").encode()
             for key in keys]
    with socket.socket() as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        host, port = quick.url.removeprefix("http://").split(":")
        conn.connect((host, int(port)))
        conn.sendall(b"".join(head + body for head in heads))
        deadline = time.monotonic() + 15
        while "client read nothing of its answer" not in quick.log() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert "client read nothing of its answer" in quick.log()
    assert "WORKER TIMEOUT" not in quick.log()
    logged = list(access_lines(quick, keys))
    assert logged  # the answers written before the stall, and the one it stalled on
    taken = requests.get(sim.url + "/_sim/stats", timeout=5).json()["records_taken"] - taken_before
    assert taken == UNREAD_BATCH * len(logged)  # every batch taken is in the log: nothing lost
    assert_unread_batches_kept(quick, sim, logged)  # with its batch_id; a retry with its key replays it
