"""Writing an answer to the socket: normally, late, slowly, or not at all.

Why raw socket control: a read timeout, a connection closed without an answer,
a TCP reset, or a body that trickles in a few bytes at a time cannot be made
with a framework's response object. Each answer goes out as one write of
status line, headers and body (no Nagle stall between them), with an exact
Content-Length so HTTP/1.1 keep-alive works.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Callable, Iterable

from .answers import Answer
from .faults import Fault

_DRIP_TICK = 0.05  # seconds between two writes of a dripping body


def head_bytes(handler: BaseHTTPRequestHandler, answer: Answer) -> bytes:
    """Return the status line and headers of an answer, CRLF-terminated."""
    reason = handler.responses.get(answer.status, ("Unknown",))[0]
    lines = [
        f"HTTP/1.1 {answer.status} {reason}",
        f"Server: {handler.server_version}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {answer.content_type}",
        f"Content-Length: {answer.size()}",
    ]
    if handler.close_connection:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def deliver(
    handler: BaseHTTPRequestHandler,
    answer: Answer,
    fault: Fault,
    stopping: threading.Event,
    before_write: Callable[[], None] | None = None,
) -> bool:
    """Write ``answer`` as ``fault`` dictates; True if it was written in full.

    ``before_write`` runs just before the first byte goes out, so counters it
    bumps are already visible to a client that has just read the answer.
    """
    if _withheld(handler, fault, stopping):
        return False
    if before_write is not None:
        before_write()
    try:
        _write(handler, answer, int(fault.value or 0) if fault.kind == "drip" else 0, stopping)
    except OSError:  # broken pipe, reset by peer, socket timeout
        handler.close_connection = True
        return False
    return True


def _withheld(handler: BaseHTTPRequestHandler, fault: Fault, stopping: threading.Event) -> bool:
    """Apply drop, reset and timeout; True when the answer must not be written."""
    if fault.kind == "drop":
        handler.close_connection = True
        return True
    if fault.kind == "reset":
        reset(handler)
        return True
    if fault.kind == "timeout":
        stopping.wait(float(fault.value or 0))
        if peer_closed(handler.connection):  # the client gave up: nobody would read it
            handler.close_connection = True
            return True
    return False


def _write(handler: BaseHTTPRequestHandler, answer: Answer, drip_rate: int, stopping: threading.Event) -> None:
    head = head_bytes(handler, answer)
    if drip_rate:
        handler.wfile.write(head)
        _drip(handler, answer.parts(), drip_rate, stopping)
    elif answer.chunks is None:
        handler.wfile.write(head + answer.body)
    else:
        handler.wfile.write(head)
        for chunk in answer.parts():
            handler.wfile.write(chunk)


def _drip(handler: BaseHTTPRequestHandler, parts: Iterable[bytes], rate: int, stopping: threading.Event) -> None:
    """Send the body ``rate`` bytes per second in small, quick writes."""
    step = max(1, round(rate * _DRIP_TICK))
    pause = step / rate
    for part in parts:
        for start in range(0, len(part), step):
            if stopping.is_set():
                raise ConnectionAbortedError("simulator stopping")
            handler.wfile.write(part[start : start + step])
            time.sleep(pause)


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort the connection with a TCP RST instead of a clean close."""
    handler.close_connection = True
    sock = handler.connection
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # drop the reader's reference so close() is real
        sock.close()
    except OSError:
        pass


def peer_closed(sock: socket.socket) -> bool:
    """Tell, without blocking, whether the client has closed its side."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
