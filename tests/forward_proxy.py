"""A small forward proxy on loopback, for the CALLNOS_PROXY_URL tests.

It does what a corporate HTTP proxy does and no more: absolute-URI requests
(``POST http://host/path``) are relayed to the origin, ``CONNECT host:port``
opens a blind tunnel (TLS stays end to end between gateway and upstream).
With ``credentials`` set it answers ``407`` unless ``Proxy-Authorization``
carries them. Each request it handled is one line in ``log`` (method,
target, whether the credentials were right, status), so a test sees what
went through it. Plain sockets and threads: it must see the bytes the
gateway sends, and a library proxy would hide exactly that.
"""

from __future__ import annotations

import base64
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024
HOP_HEADERS = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}


def _read_head(stream) -> list[bytes]:
    """The request or status line and header lines, without the blank line."""
    lines = []
    while len(lines) < 200:
        line = stream.readline(HEAD_LIMIT)
        if line in (b"\r\n", b"\n", b""):
            return lines
        lines.append(line.rstrip(b"\r\n"))
    raise ValueError("too many header lines")


def _headers(lines: list[bytes]) -> list[tuple[str, str]]:
    return [(name.strip().decode("latin-1"), value.strip().decode("latin-1"))
            for name, _, value in (line.partition(b":") for line in lines)]


class _Handler(socketserver.StreamRequestHandler):
    server: ForwardProxy

    def handle(self) -> None:
        head = _read_head(self.rfile)
        if not head:
            return
        method, target, _version = head[0].decode("latin-1").split(" ", 2)
        headers = _headers(head[1:])
        auth_ok = self.server.authorised(dict((k.lower(), v) for k, v in headers).get("proxy-authorization"))
        line = f"{method} {target} auth={'ok' if auth_ok else 'refused'} -> "
        if not auth_ok:  # each line is logged before its answer goes out, so a test never races it
            self.server.record(line + "407")
            self._answer(407, "Proxy Authentication Required", b"Proxy-Authenticate: Basic realm=\"test\"\r\n")
        elif method == "CONNECT":
            self._tunnel(target, line)
        else:
            self._relay(method, target, headers, line)

    def _answer(self, status: int, reason: str, extra: bytes = b"") -> None:
        self.wfile.write(f"HTTP/1.1 {status} {reason}\r\n".encode() + extra + b"Content-Length: 0\r\nConnection: close\r\n\r\n")

    def _connect(self, host: str, port: int, line: str) -> socket.socket | None:
        """Connect to the origin, or log and answer 502."""
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            self.server.record(line + "502")
            self._answer(502, "Bad Gateway")
            return None

    def _tunnel(self, target: str, line: str) -> None:
        """Answer the CONNECT (logged at once: a tunnel may stay open), then copy bytes."""
        host, _, port = target.rpartition(":")
        upstream = self._connect(host, int(port), line)
        if upstream is not None:
            self.server.record(line + "200")
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _pipe(self.connection, upstream)

    def _relay(self, method: str, target: str, headers: list[tuple[str, str]], line: str) -> None:
        """Send an absolute-URI request on to the origin; log it before the client can see the answer."""
        url = urlsplit(target)
        upstream = self._connect(url.hostname or "", url.port or 80, line)
        if upstream is None:
            return
        with upstream:
            length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
            kept = [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_HEADERS]
            path = url.path + (f"?{url.query}" if url.query else "")
            request = "\r\n".join([f"{method} {path or '/'} HTTP/1.1", *kept, "Connection: close", "", ""])
            upstream.sendall(request.encode("latin-1") + self.rfile.read(length))
            self._relay_answer(upstream.makefile("rb"), line)

    def _relay_answer(self, answer, line: str) -> None:
        head = _read_head(answer)
        self.server.record(line + head[0].split()[1].decode())
        kept = [header for header in head[1:] if header.partition(b":")[0].strip().lower().decode() not in HOP_HEADERS]
        self.wfile.write(b"\r\n".join([head[0], *kept, b"Connection: close", b"", b""]))
        while chunk := answer.read1(65536):
            self.wfile.write(chunk)


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until one side closes."""
    with upstream:
        sockets = [client, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)


class ForwardProxy(socketserver.ThreadingTCPServer):
    """The proxy; use as a context manager, read ``url`` and ``log``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.credentials = credentials
        self.log: list[str] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def authorised(self, header: str | None) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return header == f"Basic {expected}"

    def record(self, line: str) -> None:
        with self._lock:
            self.log.append(line)

    def __enter__(self) -> ForwardProxy:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
