"""A hard deadline for a whole upstream exchange, enforced by one watchdog thread.

``requests``' read timeout bounds each socket read, not the exchange: an
upstream that sends its status line, headers or body a byte at a time can
hold a worker thread for as long as it likes. Each exchange registers here
with its deadline; the connection class hands over its socket once it is
about to wait for the answer; when the deadline passes first, the watchdog
shuts the socket down, the blocked read returns at once, and the transport
reports a timeout. One thread per process serves every exchange (started on
first use, so after gunicorn forks), at a cost of a heap push per exchange.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import os
import socket
import threading
import time

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Exchange:
    """One upstream exchange: its deadline, its socket once known, and whether it expired."""

    __slots__ = ("deadline", "expired", "_done", "_lock", "_sock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self._done = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def attach(self, sock: socket.socket | None) -> None:
        """Remember the socket the answer will come on; cut it now if already late."""
        with self._lock:
            self._sock = sock
            if self.expired:
                _cut(sock)

    def expire(self) -> None:
        """Called by the watchdog at the deadline: cut the socket unless the exchange ended."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            _cut(self._sock)

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._sock = None


def _cut(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


CURRENT: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("callnos_exchange", default=None)


class Watchdog:
    """Expires exchanges whose deadline passed; one daemon thread per process."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Exchange]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._pid: int | None = None

    def watch(self, exchange: Exchange) -> None:
        """Expire ``exchange`` at its deadline unless it finishes first."""
        with self._wake:
            self._ensure_thread()
            heapq.heappush(self._heap, (exchange.deadline, next(self._order), exchange))
            if self._heap[0][2] is exchange:
                self._wake.notify()

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # first use, or first use after a fork
            self._pid = os.getpid()
            self._heap.clear()
            threading.Thread(target=self._run, name="callnos-deadline", daemon=True).start()

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    heapq.heappop(self._heap)[2].expire()
                self._wake.wait(self._heap[0][0] - now if self._heap else None)


WATCHDOG = Watchdog()


class _AttachingMixin:
    """Hands the socket to the current exchange before waiting for the answer."""

    def getresponse(self):  # type: ignore[no-untyped-def]
        exchange = CURRENT.get()
        if exchange is not None:
            exchange.attach(self.sock)
        return super().getresponse()


class DeadlineHTTPConnection(_AttachingMixin, HTTPConnection):
    pass


class DeadlineHTTPSConnection(_AttachingMixin, HTTPSConnection):
    pass


class DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


POOL_CLASSES = {"http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}
