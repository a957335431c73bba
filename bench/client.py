"""The one client of the end-to-end benchmark: keep-alive HTTP/1.1 on a raw socket.

Why not ``requests`` or wrk: the same client must drive all three targets
(upstream, bare pass-through, gateway), cost little next to them, and run
its concurrent clients as separate processes, so that they share no GIL with
each other and the figures show the servers, not the client. A request is
prebuilt bytes; an answer is read by its Content-Length. Loopback only.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
import urllib.parse
from dataclasses import dataclass

from bench.load_driver import require_loopback

HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True)
class Call:
    """One request to send again and again: where, and its bytes."""

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def request_bytes(self) -> bytes:
        parts = urllib.parse.urlsplit(self.url)
        head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
                f"Content-Length: {len(self.body)}", *(f"{name}: {value}" for name, value in self.headers)]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


class Connection:
    """One keep-alive connection sending one prebuilt request."""

    def __init__(self, call: Call) -> None:
        require_loopback(call.url)
        parts = urllib.parse.urlsplit(call.url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request, self.buffer = call.request_bytes(), b""

    def send(self) -> tuple[int, int]:
        """Send the request once; (status, body length) of the answer."""
        self.sock.sendall(self.request)
        while (end := self.buffer.find(HEAD_END)) < 0:
            self._receive()
        head = self.buffer[:end].split(b"\r\n")
        size = next((int(line.split(b":", 1)[1]) for line in head[1:]
                     if line[:15].lower() == b"content-length:"), 0)
        while len(self.buffer) < end + 4 + size:
            self._receive()
        self.buffer = self.buffer[end + 4 + size:]
        return int(head[0].split()[1]), size

    def _receive(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def close(self) -> None:
        self.sock.close()


def latencies_ms(call: Call, count: int, warm_up: int = 20) -> list[float]:
    """Milliseconds of ``count`` requests, one after the other on one connection, after a warm-up."""
    connection = Connection(call)
    try:
        for _ in range(warm_up):
            _expect_ok(connection.send())
        found = []
        for _ in range(count):
            started = time.perf_counter()
            _expect_ok(connection.send())
            found.append((time.perf_counter() - started) * 1e3)
        return found
    finally:
        connection.close()


def _expect_ok(answer: tuple[int, int]) -> None:
    if answer[0] != 200:
        raise RuntimeError(f"answered HTTP {answer[0]}")


def throughput(call: Call, clients: int, seconds: float) -> tuple[int, int, float]:
    """(answers, failures, seconds): ``clients`` processes, one connection each, all for ``seconds``."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = time.time() + 0.5 + 0.02 * clients  # every process connected and warm by then
    processes = [context.Process(target=_client, args=(call, start, start + seconds, results))
                 for _ in range(clients)]
    for process in processes:
        process.start()
    found = [results.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    return sum(ok for ok, _ in found), sum(failed for _, failed in found), seconds


def _client(call: Call, start: float, stop: float, results) -> None:
    ok = failed = 0
    try:
        connection = Connection(call)
        connection.send()  # connected and warm before the start
        time.sleep(max(0.0, start - time.time()))
        while time.time() < stop:
            if connection.send()[0] == 200:
                ok += 1
            else:
                failed += 1
    except (OSError, ValueError, RuntimeError):
        failed += 1
    results.put((ok, failed))
