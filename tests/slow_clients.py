"""Section 11's misbehaving clients, and a normal client that times its requests.

The misbehaving clients run on one asyncio loop in a background thread, so a
test (or the command line) can hold hundreds of connections open while a
normal client, in the calling thread, sends requests on fresh connections and
times them. A connection the server closes is opened again, so the load stays
at its size for as long as it runs; the time the server took to close a
connection that never finished its headers is recorded.

    .venv/bin/python tests/slow_clients.py [--seconds 15] [--config python:callnos_gateway.server.gunicorn_config]

starts a simulator and gunicorn (the shipped config unless told otherwise), runs each load on its own and
then all together, and prints the normal client's p50/p99 for each (the table
in docs/RELIABILITY.md). Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from dataclasses import dataclass, field

import requests

SIZES = {"idle": 200, "headers": 50, "body": 20, "unread": 20}
UNREAD_BATCH = 500
DRIP_LINE_SECONDS = 1.0
BODY_BYTES_PER_TICK, BODY_DECLARED = 3, 4096
OPEN_TIMEOUT = 10.0


@dataclass
class HostileReport:
    """What the misbehaving clients saw: connections opened and closed by the server."""

    opened: Counter = field(default_factory=Counter)
    closed_by_server: Counter = field(default_factory=Counter)
    header_close_seconds: list[float] = field(default_factory=list)
    unread_keys: list[str] = field(default_factory=list)


class HostileClients:
    """Hold the chosen loads open until ``stop`` (a context manager)."""

    def __init__(self, url: str, api_key: str, sizes: dict[str, int], key_prefix: str = "unread") -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("misbehaving clients go to loopback only")
        self.host, self.port, self.api_key = parts.hostname, parts.port, api_key
        self.sizes, self.key_prefix = sizes, key_prefix
        self.report = HostileReport()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-clients", daemon=True)
        self._ready = threading.Event()
        self._all_open = threading.Event()

    def __enter__(self) -> HostileClients:
        self._thread.start()
        self._ready.wait(5)
        if not self._all_open.wait(OPEN_TIMEOUT):
            raise TimeoutError(f"could not open the loads in time: {dict(self.report.opened)}")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._ready.set()
        kinds = {"idle": self._idle, "headers": self._headers, "body": self._body, "unread": self._unread}
        tasks = [asyncio.create_task(kinds[kind](n)) for kind, size in self.sizes.items() for n in range(size)]
        total = sum(self.sizes.values())
        while sum(self.report.opened.values()) < total and not self._stop.is_set():
            await asyncio.sleep(0.02)
        self._all_open.set()
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connect(self, kind: str, rcvbuf: int | None = None):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await self._loop.sock_connect(sock, (self.host, self.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        self.report.opened[kind] += 1
        return reader, writer

    async def _keep_open(self, kind: str, behave) -> None:
        """Open a connection, run ``behave`` on it; when the server closes it, open another."""
        first = True
        while not self._stop.is_set():
            try:
                reader, writer = await self._connect(kind if first else kind + " again")
            except OSError:
                await asyncio.sleep(0.1)
                continue
            first = False
            started = time.monotonic()
            try:
                await behave(reader, writer)
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
            self.report.closed_by_server[kind] += 1
            if kind == "headers":
                self.report.header_close_seconds.append(time.monotonic() - started)

    async def _idle(self, _n: int) -> None:
        await self._keep_open("idle", lambda reader, writer: _until_closed(reader))

    async def _headers(self, _n: int) -> None:
        async def drip(reader, writer):
            writer.write(b"POST /v1/call-data HTTP/1.1\r\n")
            closed = asyncio.ensure_future(_until_closed(reader))
            line = 0
            while not closed.done():
                await writer.drain()
                await asyncio.wait([closed], timeout=DRIP_LINE_SECONDS)
                line += 1
                writer.write(f"X-Drip-{line}: {line}\r\n".encode())
        await self._keep_open("headers", drip)

    async def _body(self, _n: int) -> None:
        async def drip(reader, writer):
            writer.write(self._head(BODY_DECLARED) + b'{"task_id": 1001, "batch_size": 1, "x": "')
            closed = asyncio.ensure_future(_until_closed(reader))
            while not closed.done():
                await writer.drain()
                await asyncio.wait([closed], timeout=1.0)
                writer.write(b"y" * BODY_BYTES_PER_TICK)
        await self._keep_open("body", drip)

    async def _unread(self, n: int) -> None:
        key = f"{self.key_prefix}-{n}"
        self.report.unread_keys.append(key)
        body = json.dumps({"task_id": 1001, "batch_size": UNREAD_BATCH}).encode()
        reader, writer = await self._connect("unread", rcvbuf=4096)
        writer.write(self._head(len(body), key) + body)
        await writer.drain()
        try:
            await self._stop.wait()  # never read the answer
        finally:
            writer.transport.abort()

    def _head(self, length: int, key: str | None = None) -> bytes:
        lines = [
            "POST /v1/call-data HTTP/1.1", f"Host: {self.host}:{self.port}", f"X-API-Key: {self.api_key}",
            "Content-Type: application/json", f"Content-Length: {length}",
        ]
        if key:
            lines += [f"Idempotency-Key: {key}", f"X-Request-ID: {key}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Return once the server closed the connection (whatever it sent first)."""
    with contextlib.suppress(OSError):
        while await reader.read(65536):
            pass


@dataclass
class Probe:
    """The normal client's requests: latency in ms and status (0: no answer)."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("inf")

    def row(self) -> dict:
        return {"requests": len(self.latencies_ms), "statuses": dict(self.statuses),
                "p50_ms": round(self.percentile(0.5), 1), "p99_ms": round(self.percentile(0.99), 1),
                "max_ms": round(max(self.latencies_ms, default=0.0), 1)}


def normal_client(url: str, api_key: str, requests_total: int, seconds: float, timeout: float = 5.0) -> Probe:
    """Fetch 5 records on a fresh connection, one after the other, until the count or the time is up."""
    probe = Probe()
    headers = {"X-API-Key": api_key, "Connection": "close"}
    deadline = time.monotonic() + seconds
    while len(probe.latencies_ms) < requests_total and time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            answer = requests.post(url + "/v1/call-data", json={"task_id": 1001, "batch_size": 5},
                                   headers=headers, timeout=timeout)
            probe.statuses[answer.status_code] += 1
        except requests.RequestException:
            probe.statuses[0] += 1
        probe.latencies_ms.append((time.perf_counter() - started) * 1000)
    return probe


def _table(seconds: float, config: str) -> None:
    """Start a simulator and gunicorn with ``config``; print one row per load."""
    import tempfile

    from servers import gunicorn_process, simulator_process

    api_key = "slow-clients-key"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with simulator_process(tmp_path) as sim:
            env = {"CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": "demo", "CALLNOS_PASSWORD": "demo-password",
                   "CALLNOS_API_KEYS": api_key, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
                   "CALLNOS_IDEMPOTENCY_URL": f"sqlite:///{tmp_path / 'idem.sqlite3'}"}
            with gunicorn_process(tmp_path, env, command=f"gunicorn -c {config} callnos_gateway.wsgi:app") as gateway:
                runs = [("none", {})] + [(kind, {kind: size}) for kind, size in SIZES.items()] + [("all", SIZES)]
                for name, sizes in runs:
                    with HostileClients(gateway.url, api_key, sizes, key_prefix=f"cli-{name}") as hostile:
                        probe = normal_client(gateway.url, api_key, 10_000, seconds)
                    closes = sorted(hostile.report.header_close_seconds)
                    print(json.dumps({"load": name, **probe.row(), "opened": dict(hostile.report.opened),
                                      "header_close_s": round(closes[len(closes) // 2], 1) if closes else None}))
                    time.sleep(1)
                log = gateway.log()
        print(json.dumps({"worker_timeouts": log.count("WORKER TIMEOUT")}))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each load runs")
    parser.add_argument("--config", default="python:callnos_gateway.server.gunicorn_config", help="gunicorn config file (default: the shipped one)")
    arguments = parser.parse_args()
    _table(arguments.seconds, str(Path(arguments.config).resolve()))
