"""WSGI middleware: read the request body first, then let the app work in one of a few slots.

Why: under the gevent worker a connection costs a greenlet, but what the app
does for a request (the upstream call, the token renewal, the Idempotency-Key
store) should run no more often at once than it did under gthread's threads:
the upstream connection pool, a token expiry met by every request in flight,
and the CPU all behave as they were measured to. A slot is taken only once
the body has arrived (a client dripping its body waits outside) and is given
back when the app has built its answer, before the answer is written (a
client that never reads holds no slot).

No gevent here: the slots are whatever semaphore the worker passes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any, ContextManager

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class BodyFirst:
    """Wraps a WSGI app: body read in full (up to ``max_body`` + 1 bytes), then a slot."""

    def __init__(self, app: WsgiApp, slots: ContextManager[Any], max_body: int) -> None:
        self.app, self.slots, self.max_body = app, slots, max_body

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        read_body_first(environ, self.max_body)
        with self.slots:
            return self.app(environ, start_response)


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
