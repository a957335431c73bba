"""Hostile HTTP at the real server (gunicorn): CR/LF in headers, chunked bodies over the limit.

The Flask test client cannot send these bytes, so the tests talk raw sockets
to a gunicorn worker.
"""

from __future__ import annotations

import socket

import pytest

from servers import gunicorn_process, simulator_process

API_KEY = "hostile-key"


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    with simulator_process(tmp) as sim:
        env = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": "demo", "CALLNOS_PASSWORD": "demo-password",
               "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1"}
        with gunicorn_process(tmp, env, workers=1, threads=2) as gateway:
            yield gateway.url


def raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def post(path: str, headers: bytes, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: {API_KEY}\r\n"
            "Content-Type: application/json\r\n").encode()
    return head + headers + b"\r\n" + body


BODY = b'{"task_id": 1001, "batch_size": 1}'


@pytest.mark.parametrize("value", [
    b"abc\rInjected: yes",
    b"abc\nInjected: yes",
    b"abc\r\n Injected: yes",  # obsolete line folding
    b"abc\x00def",
    b"abc\x7fdef",
])
def test_a_request_id_with_control_characters_is_rejected_or_replaced_never_echoed(gateway_url, value):
    answer = raw_exchange(gateway_url, post("/v1/call-data", b"X-Request-ID: " + value + b"\r\n"
                                            + f"Content-Length: {len(BODY)}\r\n".encode(), BODY))
    status_line, _, rest = answer.partition(b"\r\n")
    head = rest.split(b"\r\n\r\n", 1)[0].lower()
    assert status_line.split()[1] in (b"200", b"400")
    assert b"injected" not in head
    for line in head.split(b"\r\n"):
        if line.startswith(b"x-request-id:"):
            assert b"abc" not in line


def test_a_chunked_body_over_the_limit_is_a_413(gateway_url):
    chunk = b"x" * 70_000
    body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
    answer = raw_exchange(gateway_url, post("/v1/call-data", b"Transfer-Encoding: chunked\r\n", body))
    assert answer.split()[1] == b"413"
    assert b"payload_too_large" in answer


def test_a_lying_content_length_does_not_hang_or_crash(gateway_url):
    answer = raw_exchange(gateway_url, post("/v1/call-data", b"Content-Length: 10\r\n", BODY))
    assert answer.split()[1] in (b"400",)
    assert b"Traceback" not in answer
