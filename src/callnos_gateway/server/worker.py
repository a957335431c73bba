"""The gunicorn worker class: gevent, with a deadline for request headers.

Why gevent: gunicorn's gthread worker lends a thread to each connection while
it reads the request, so 6 clients that sent half a request, or 200 idle
connections, took all 8 threads and every other client waited
(docs/RELIABILITY.md, "Slow, idle and half-open clients"). Under gevent each
connection is a greenlet: a stalled client stalls only itself, and a worker
holds ``GUNICORN_WORKER_CONNECTIONS`` of them.

Why a subclass: gunicorn's gevent worker gives every request ``keepalive``
seconds (75) for its headers, and a client that sends a header line a second
can keep that going. Here a connection must deliver complete request headers
within ``CALLNOS_HEADER_TIMEOUT`` or it is closed: counted from the accept for
the first request, and from the first byte of each later one, so that a
kept-alive connection may still wait ``keepalive`` seconds between requests
(a load balancer's pool does).

Then the body: a declared body must arrive within ``CALLNOS_BODY_TIMEOUT`` of
the headers (``callnos_gateway.server.admission``: a 408 and the connection
closed). And the answer: a client that has read nothing of it for
``CALLNOS_SEND_TIMEOUT`` is closed (``callnos_gateway.server.send_deadline``); by
then the app has logged the request (with its ``batch_id``) and stored a keyed
answer, so nothing is lost.

What the app does per request still runs ``GUNICORN_THREADS`` at a time per
worker, once the request's body has arrived (``callnos_gateway.server.admission``).

gevent's monkey-patching happens in the worker right after the fork, before
the app is imported (``GUNICORN_PRELOAD=true`` patches the master first:
see python:callnos_gateway.server.gunicorn_config).
"""

from __future__ import annotations

import socket
import time
import warnings
from collections.abc import Callable

import gevent
from gevent.lock import BoundedSemaphore
from gevent.monkey import MonkeyPatchWarning
from gevent.socket import wait_read
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from callnos_gateway.server import handover
from callnos_gateway.settings import load_settings
from callnos_gateway.server.admission import BodyFirst, BodyLate
from callnos_gateway.server.send_deadline import ClientNotReading, SendDeadline

STOP_CHECK_SECONDS = 1.0  # how often a kept-alive connection's wait looks whether the worker stops


class _Connection:
    """One client connection: its socket, and the parser's buffer once a request was served."""

    __slots__ = ("sock", "unreader")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.unreader = None

    def idle_between_requests(self) -> bool:
        """A request was served and no byte of the next one has been read yet."""
        return self.unreader is not None and not self.unreader.buf.getvalue()


class HeaderDeadline:
    """Bounds the reading of one request's headers (the block gunicorn runs ``next(parser)`` in).

    A kept-alive connection first waits up to ``idle`` seconds for a byte (less
    once the worker stops: gthread, too, closes idle connections at a stop, and
    a graceful stop would otherwise wait for them), then the headers get
    ``header`` seconds. When the headers are late the block is
    left without a request, and gunicorn closes the connection.
    """

    def __init__(self, connection: _Connection | None, idle: float, header: float,
                 alive: Callable[[], bool] = lambda: True) -> None:
        self._connection, self._idle, self._header, self._alive = connection, idle, header, alive
        self._timeout: gevent.Timeout | None = None

    def __enter__(self) -> HeaderDeadline:
        if self._connection is not None and self._connection.idle_between_requests():
            self._wait_for_next_request()
        self._timeout = gevent.Timeout.start_new(self._header)
        return self

    def _wait_for_next_request(self) -> None:
        """Wait for a byte up to ``idle`` seconds; once the worker stops, only a quiet second more.

        A request already on its way when the worker stops is still read (its
        answer closes the connection): closing at once lost requests that a
        busy client had sent a moment after its previous answer.
        """
        deadline = time.monotonic() + self._idle
        while (left := deadline - time.monotonic()) > 0:
            try:
                wait_read(self._connection.sock.fileno(), timeout=min(left, STOP_CHECK_SECONDS))
                return
            except socket.timeout:
                if not self._alive():
                    break
        raise StopIteration("kept-alive connection idle for the keep-alive timeout, or the worker stops")

    def __exit__(self, kind, error, traceback) -> bool:
        self._timeout.close()
        return error is self._timeout  # late headers: no request, the connection closes


class GatewayWorker(GeventWorker):
    """gunicorn's gevent worker with ``CALLNOS_HEADER_TIMEOUT`` (see the module docstring)."""

    def init_process(self) -> None:
        settings = handover.kept() or load_settings()  # the master's checked copy (a bad file at HUP is not re-read)
        self.header_timeout, self.max_body = settings.header_timeout, settings.max_body_bytes
        self.body_timeout, self.send_timeout = settings.body_timeout, settings.send_timeout
        self._connections: dict[gevent.Greenlet, _Connection] = {}
        super().init_process()

    def patch(self) -> None:
        """Patch as gevent's worker does, without a warning line per boot.

        gunicorn imported ``ssl`` for its own server-side TLS (unused here)
        before the worker patches; every client library is imported after.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MonkeyPatchWarning)
            super().patch()

    def load_wsgi(self) -> None:
        """The app behind ``BodyFirst``: ``GUNICORN_THREADS`` requests at once, each with its body read."""
        super().load_wsgi()
        self.wsgi = BodyFirst(self.wsgi, BoundedSemaphore(self.cfg.threads), self.max_body,
                              body_deadline=lambda: gevent.Timeout(self.body_timeout, BodyLate),
                              close_after=_close_after_answer, body_timeout=self.body_timeout)

    def handle(self, listener, client, addr) -> None:
        current = gevent.getcurrent()
        self._connections[current] = _Connection(client)
        try:
            super().handle(listener, client, addr)
        finally:
            del self._connections[current]

    def handle_request(self, listener_name, req, sock, addr):
        """Serve one request; remember the parser's buffer for the next request's deadline.

        When the answer closes the connection, close it as gthread does
        (RFC 9112 section 9.6: FIN, then drain a little): a plain close with
        an unread request body on the socket sends a reset, and the client
        may lose the answer (a 413 for a body over the limit, say).
        """
        try:
            return super().handle_request(listener_name, req, SendDeadline(sock, self.send_timeout), addr)
        except StopIteration:
            util.close_graceful(sock)
            raise
        except ClientNotReading as error:
            self.log.warning("client read nothing of its answer; connection closed",
                             extra={"path": req.path, "send_timeout_s": error.seconds})
            raise StopIteration("client not reading") from None
        finally:
            connection = self._connections.get(gevent.getcurrent())
            if connection is not None:
                connection.unreader = req.unreader

    def timeout_ctx(self) -> HeaderDeadline:
        connection = self._connections.get(gevent.getcurrent())
        return HeaderDeadline(connection, self.cfg.keepalive, self.header_timeout, lambda: self.alive)


def _close_after_answer(start_response: Callable) -> None:
    """Make gunicorn answer with ``Connection: close`` and close (its start_response is its Response's method)."""
    start_response.__self__.force_close()
