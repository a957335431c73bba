"""``python -m bench.upstream --port N``: a fake callnos upstream that answers precomputed bytes.

Why its own server and not the simulator: the floor of every figure is what
the upstream costs, so it must cost next to nothing. One thread, one
``selectors`` loop, keep-alive, no queue and no JSON encoding at answer
time: a POST's body names ``serviceId`` (the record mix, see
``bench.records``) and ``batchCount``; the answer for that pair is built once
and then served from memory. Any other request gets a small 404. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket

from bench.records import MIX_OF_TASK, answer_body

HEAD_END = b"\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class Answers:
    """Answer bytes (status line and headers included) per (mix, count), built on first use."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], bytes] = {}

    def for_body(self, body: bytes) -> bytes:
        try:
            request = json.loads(body)
            key = (MIX_OF_TASK[int(request["serviceId"])], int(request["batchCount"]))
        except (ValueError, KeyError, TypeError):
            return NOT_FOUND
        found = self._cache.get(key)
        if found is None:
            payload = answer_body(*key)
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            found = self._cache[key] = head.encode() + payload
        return found


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class Connection:
    """One keep-alive client connection: buffer bytes, answer each complete request."""

    def __init__(self, sock: socket.socket, answers: Answers) -> None:
        self.sock, self.answers, self.buffer = sock, answers, b""

    def readable(self) -> bool:
        """Read what arrived and answer every complete request; False once the peer closed."""
        data = self.sock.recv(262144)
        if not data:
            return False
        self.buffer += data
        while True:
            end = self.buffer.find(HEAD_END)
            if end < 0:
                return True
            size = _content_length(self.buffer[:end])
            if len(self.buffer) < end + 4 + size:
                return True
            body = self.buffer[end + 4:end + 4 + size]
            self.buffer = self.buffer[end + 4 + size:]
            self.sock.sendall(self.answers.for_body(body) if size else NOT_FOUND)


def serve(port: int) -> None:
    """Serve on 127.0.0.1:port until killed."""
    answers, selector = Answers(), selectors.DefaultSelector()
    listener = socket.create_server(("127.0.0.1", port), backlog=512)
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                sock, _ = listener.accept()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(True)
                selector.register(sock, selectors.EVENT_READ, Connection(sock, answers))
            elif not _answered(key.data):
                selector.unregister(key.fileobj)
                key.fileobj.close()


def _answered(connection: Connection) -> bool:
    try:
        return connection.readable()
    except (OSError, ValueError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
