"""SendDeadline: a client that reads nothing is given up on; a slow but steady reader is not."""

from __future__ import annotations

import time

import gevent
import pytest
from gevent import socket as gsocket

from callnos_gateway.server.send_deadline import ClientNotReading, SendDeadline

ANSWER = b"x" * (8 << 20)  # far more than loopback's socket buffers hold


def test_a_client_that_reads_nothing_is_given_up_on_after_the_send_timeout():
    server, client = gsocket.socketpair()
    with server, client:
        started = time.monotonic()
        with pytest.raises(ClientNotReading) as raised:
            SendDeadline(server, 0.3).sendall(ANSWER)
        assert 0.25 < time.monotonic() - started < 5
        assert raised.value.seconds == 0.3 and "0.3 s" in str(raised.value)


def test_a_slow_steady_reader_gets_the_whole_answer_though_it_takes_longer_than_the_send_timeout():
    server, client = gsocket.socketpair()
    answer = b"y" * (4 << 20)
    with server, client:
        def read_slowly() -> int:
            received = 0
            while received < len(answer):
                gevent.sleep(0.05)
                received += len(client.recv(256 << 10))
            return received

        reader = gevent.spawn(read_slowly)
        started = time.monotonic()
        SendDeadline(server, 0.3).sendall(memoryview(answer))
        assert reader.get(timeout=30) == len(answer)
        assert time.monotonic() - started > 0.3  # longer than the timeout in all, never that long without progress


def test_everything_but_sendall_is_the_socket_itself():
    server, client = gsocket.socketpair()
    with server, client:
        wrapped = SendDeadline(server, 1.0)
        assert wrapped.fileno() == server.fileno()
        wrapped.sendall(b"ping")
        assert client.recv(4) == b"ping"
