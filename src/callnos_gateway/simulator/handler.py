"""HTTP plumbing of the simulator: route, read, pick a fault, answer, deliver.

Why a plain ``BaseHTTPRequestHandler``: faults need the raw socket (drop,
reset, drip), and the tool must run on the standard library alone. The one
rule here is that no input, however bad, may kill a server thread: every
request runs under a guard that answers a JSON 500 (or closes the connection)
and counts the incident in ``internal_errors``.
"""

from __future__ import annotations

import sys
import traceback
from http.server import BaseHTTPRequestHandler
from typing import Callable
from urllib.parse import urlsplit

from . import answers, control, endpoints, workflow, writes
from .answers import Answer
from .delivery import deliver
from .faults import DELIVERY_KINDS, OK, Fault, header_fault
from .state import SimState

UPSTREAM_ROUTES = {
    "/rest/isales/v1/openapi/obs/auth/login": "login",
    "/rest/isales/v1/openapi/obs/auth/refresh": "refresh",
    "/rest/isales/v1/openapi/obs/business/callnos": "callnos",
    "/rest/isales/v1/openapi/obs/business/tasks": "tasks",
    "/rest/isales/v1/openapi/obs/business/isholiday": "isholiday",
    "/rest/isales/v1/openapi/obs/business/call/result": "result",
    "/rest/isales/v1/openapi/obs/business/push/midresult": "midresult",
    "/rest/isales/v1/openapi/obs/business/interface": "discovery",
}
Work = Callable[[SimState, bytes, object], Answer]
_WORK: dict[str, Work] = {
    "login": endpoints.login,
    "refresh": endpoints.refresh,
    "callnos": endpoints.callnos,
    "tasks": workflow.tasks,
    "isholiday": workflow.isholiday,
    "result": writes.result,
    "midresult": writes.midresult,
    "discovery": workflow.discovery,
}


class SimHandler(BaseHTTPRequestHandler):
    """One connection of the fake upstream (HTTP/1.1, keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "iSalesSimulator/1.0"
    disable_nagle_algorithm = True
    timeout = 120  # seconds an idle keep-alive connection may hold its thread

    @property
    def state(self) -> SimState:
        """Return the shared state of the simulator serving this connection."""
        return self.server.state  # type: ignore[attr-defined]

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self._guarded()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _guarded(self) -> None:
        self._answered = False
        try:
            self._dispatch()
        except OSError:
            self.close_connection = True
        except Exception:  # noqa: BLE001 (the thread must survive anything)
            self.state.stats.bump("internal_errors")
            traceback.print_exc(file=sys.stderr)
            self._last_resort()

    def _last_resort(self) -> None:
        self.close_connection = True
        if not self._answered:
            try:
                self._send(answers.error(500, "simulator internal error"))
            except OSError:
                pass

    def _dispatch(self) -> None:
        body = self._read_body()  # always, so an unread body never poisons keep-alive
        if body is None:
            return
        path, inner = self._paths()
        control_path = inner if inner is not None and inner.startswith("/_sim/") else path
        if control_path.startswith("/_sim/"):
            self._send(control.handle(self.state, self.command, control_path, body))
            return
        endpoint = UPSTREAM_ROUTES.get(inner or "")
        if endpoint is None:
            self._send(answers.error(404, f"no route {path}"))
        elif self.command != "POST":
            self._send(answers.error(405, "use POST"))
        else:
            self._upstream(endpoint, body)

    def _paths(self) -> tuple[str, str | None]:
        """Return the request path and the part after the prefix (None: no prefix)."""
        path = urlsplit(self.path).path
        prefix = self.state.config.prefix
        if not prefix:
            return path, path
        return path, (path[len(prefix):] if path.startswith(prefix + "/") else None)

    def _upstream(self, endpoint: str, body: bytes) -> None:
        self.state.stats.enter()
        try:
            self._upstream_call(endpoint, body)
        finally:
            self.state.stats.leave()

    def _upstream_call(self, endpoint: str, body: bytes) -> None:
        stats = self.state.stats
        try:
            fault = self._fault_for(endpoint)
        except ValueError as problem:
            stats.request(endpoint, self.headers.items(), None)
            self._send(answers.error(400, f"bad fault header: {problem}"))
            return
        stats.request(endpoint, self.headers.items(), fault.spec if fault else None)
        fault = fault or OK
        answer = self._answer(endpoint, fault, body)
        self._answered = True
        if endpoint == "callnos":
            self._deliver_counted(answer, fault)
        else:
            deliver(self, answer, fault, self.state.stopping)

    def _deliver_counted(self, answer: Answer, fault: Fault) -> None:
        """Deliver a callnos answer; its records count as out unless the write fails."""
        stats, counted = self.state.stats, []

        def count() -> None:
            stats.written(answer.records, answer.success)
            counted.append(True)

        if not deliver(self, answer, fault, self.state.stopping, before_write=count) and counted:
            stats.written(answer.records, answer.success, sign=-1)

    def _fault_for(self, endpoint: str) -> Fault | None:
        asked = header_fault(endpoint, self.headers.get("X-Sim-Fault"), self.headers.get("X-Request-ID"))
        return asked if asked is not None else self.state.faults.pick(endpoint)

    def _answer(self, endpoint: str, fault: Fault, body: bytes) -> Answer:
        """Do the endpoint's normal work unless the fault replaces its answer."""
        state = self.state
        if fault.kind == "latency":
            state.stopping.wait(float(fault.value or 0) / 1000)
        work = _WORK[endpoint]
        if fault.kind in DELIVERY_KINDS:
            return work(state, body, self.headers)
        if fault.takes_records_first(endpoint):
            work(state, body, self.headers)
        return answers.for_fault(fault)

    def _read_body(self) -> bytes | None:
        """Read the request body; answer and return None when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._refuse(411, "chunked bodies are not supported; send Content-Length")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            return self._refuse(400, "bad Content-Length")
        if length > self.state.config.max_body_bytes:
            return self._refuse(413, "request body too large")
        body = self.rfile.read(length)
        if len(body) < length:  # the client went away mid-body
            self.close_connection = True
            return None
        return body

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True  # the unread body would poison keep-alive
        self._send(answers.error(status, message))
        return None

    def _send(self, answer: Answer) -> None:
        self._answered = True
        deliver(self, answer, OK, self.state.stopping)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if self.state.config.access_log:
            sys.stderr.write(f"simulator: {self.address_string()} {format % args}\n")

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002
        if format.startswith("Request timed out") and not self.state.config.access_log:
            return  # an idle keep-alive connection closing: routine, not an error
        sys.stderr.write(f"simulator: {self.address_string()} {format % args}\n")
