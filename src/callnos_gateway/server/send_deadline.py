"""The client socket as gunicorn writes an answer to it: no progress for a while, and it gives up.

Why: under gevent a client that never reads its answer holds a greenlet and a
socket for good once the kernel's buffers are full (gunicorn sets no send
timeout). A plain socket timeout would not do: gevent's ``sendall`` counts it
for the whole answer, so a slow but steady reader of a large answer would be
cut. Here each send gets ``seconds`` to make progress: a client that has read
nothing for that long is closed (``CALLNOS_SEND_TIMEOUT``).
"""

from __future__ import annotations

import socket

from gevent.socket import wait_write


class ClientNotReading(OSError):
    """The client read nothing of its answer for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the client read nothing of its answer for {seconds:g} s")
        self.seconds = seconds


class SendDeadline:
    """Wraps a gevent socket: ``sendall`` fails with ``ClientNotReading`` once a send stalls ``seconds``."""

    __slots__ = ("_sock", "_seconds")

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock, self._seconds = sock, seconds

    def sendall(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        while view:
            wait_write(self._sock.fileno(), timeout=self._seconds, timeout_exc=ClientNotReading(self._seconds))
            view = view[self._sock.send(view):]

    def __getattr__(self, name: str):
        return getattr(self._sock, name)
