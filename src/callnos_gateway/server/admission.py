"""WSGI middleware: read the request body first, then let the app work in one of a few slots.

Why: under the gevent worker a connection costs a greenlet, but what the app
does for a request (the upstream call, the token renewal, the Idempotency-Key
store) should run no more often at once than it did under gthread's threads:
the upstream connection pool, a token expiry met by every request in flight,
and the CPU all behave as they were measured to. A slot is taken only once
the body has arrived (a client dripping its body waits outside) and is given
back when the app has built its answer, before the answer is written (a
client that never reads holds no slot).

A declared body must arrive within ``CALLNOS_BODY_TIMEOUT`` of the headers:
a client dripping it gets a 408 ``request_timeout`` problem and the
connection is closed (nginx's ``client_body_timeout``), so drippers cannot
pile up. The answer is built here, not by the app: the app has not seen the
request, and its problem answers need a request it can read.

No gevent here: the slots, the body deadline and how to close the connection
are whatever the worker passes.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, ContextManager

from callnos_gateway.errors import PROBLEM_TYPE, RequestTimeout

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]
log = logging.getLogger("callnos.server")


class BodyLate(Exception):
    """Raised by the worker's body deadline: the declared body did not arrive in time."""


class BodyFirst:
    """Wraps a WSGI app: body read in full (up to ``max_body`` + 1 bytes) before its deadline, then a slot."""

    def __init__(self, app: WsgiApp, slots: ContextManager[Any], max_body: int,
                 body_deadline: Callable[[], ContextManager[Any]] = contextlib.nullcontext,
                 close_after: Callable[[Callable], None] = lambda start_response: None,
                 body_timeout: float = 0.0) -> None:
        self.app, self.slots, self.max_body = app, slots, max_body
        self.body_deadline, self.close_after, self.body_timeout = body_deadline, close_after, body_timeout

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            with self.body_deadline():
                read_body_first(environ, self.max_body)
        except BodyLate:
            self.close_after(start_response)
            return body_late_answer(environ, start_response, self.body_timeout)
        with self.slots:
            return self.app(environ, start_response)


def body_late_answer(environ: dict, start_response: Callable, seconds: float) -> list[bytes]:
    """The 408 ``request_timeout`` problem (docs/API.md, "Errors"), logged as one line."""
    error = RequestTimeout(f"The request body did not arrive within {seconds:g} s; the connection is closed.")
    problem = {"type": PROBLEM_TYPE + error.code, "title": error.title, "status": error.status,
               "detail": error.detail, "code": error.code}
    body = json.dumps(problem).encode()
    log.warning("request body late: 408, connection closed",
                extra={"code": error.code, "path": environ.get("PATH_INFO"), "body_timeout_s": seconds})
    start_response(f"{error.status} Request Timeout", [
        ("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))])
    return [body]


def read_body_first(environ: dict, max_body: int) -> None:
    """Replace ``wsgi.input`` by the body already read, when it is small enough to hold.

    A declared body over ``max_body`` is left unread: the app refuses it (413)
    without reading. A chunked body is read up to one byte past the limit, so
    the app still sees that it is too large.
    """
    length = _declared_length(environ)
    if length is not None and length > max_body:
        return
    if length is None and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    stream = environ["wsgi.input"]
    environ["wsgi.input"] = io.BytesIO(stream.read(max_body + 1 if length is None else length))


def _declared_length(environ: dict) -> int | None:
    text = environ.get("CONTENT_LENGTH") or ""
    return int(text) if text.isdigit() else None
