"""The ``Simulator`` facade: start, control and stop one fake upstream.

Why: pytest fixtures want a live server on a free loopback port in one line
(``Simulator(port=0).start()``) and direct controls (faults, token expiry,
stats) without HTTP; the command line wants the same server in the
foreground. Both go through this class.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from http.server import ThreadingHTTPServer
from typing import Any

from .config import SimulatorConfig
from .handler import SimHandler
from .state import SimState


class SimHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the simulator state."""

    daemon_threads = True  # sleeping faults must not keep the process alive
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256  # load tests open many connections at once

    def __init__(self, address: tuple[str, int], state: SimState) -> None:
        self.state = state
        super().__init__(address, SimHandler)


class Simulator:
    """A fake AICC iSales upstream (login, refresh, callnos) on loopback."""

    def __init__(self, config: SimulatorConfig | None = None, **overrides: Any) -> None:
        base = config if config is not None else SimulatorConfig()
        self.config = replace(base, **overrides) if overrides else base
        self.state = SimState(self.config)
        self._server: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Simulator":
        """Bind the port and serve in a background thread; return self."""
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self.state.stopping.clear()
        self._server = SimHTTPServer((self.config.host, self.config.port), self.state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"simulator-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping faults and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self.state.stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "Simulator":
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """Return the bound port (the real one when configured as 0)."""
        if self._server is None:
            return self.config.port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Return the base URL the gateway should use (with the prefix)."""
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}{self.config.prefix}"

    def stats(self) -> dict[str, Any]:
        """Return a snapshot of every counter."""
        return self.state.snapshot()

    def push_faults(self, endpoint: str, specs: list[str] | tuple[str, ...]) -> None:
        """Queue faults for the next requests of ``endpoint``, consumed in order."""
        self.state.faults.push(endpoint, specs)

    def set_run_fault(self, endpoint: str, spec: str | None) -> None:
        """Apply ``spec`` to every request of ``endpoint`` until set to None."""
        self.state.faults.set_run(endpoint, spec)

    def expire_tokens(self) -> None:
        """Make every issued access token invalid now; refresh tokens stay valid."""
        self.state.tokens.expire_access()

    def expire_refresh_tokens(self) -> None:
        """Make every issued refresh token invalid now."""
        self.state.tokens.expire_refresh()

    def set_invalidating_login(self, on: bool) -> None:
        """Switch the mode where each login invalidates every earlier token and refresh token."""
        self.state.tokens.invalidating_login = on

    def issue_token(self) -> str:
        """Issue a valid access token, e.g. for the gateway's static auth mode."""
        return self.state.tokens.issue().token

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token issued lately (bounded), to check none leaks."""
        return self.state.tokens.issued()

    def remaining(self, sub_cc_no: int, vdn_id: int, service_id: int) -> int:
        """Return how many records of a task are still queued."""
        return self.state.queues.remaining((sub_cc_no, vdn_id, service_id))

    def reset(self) -> None:
        """Clear queues, stats, faults (back to the configured ones) and tokens."""
        self.state.reset()
