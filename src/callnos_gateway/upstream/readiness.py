"""A bounded wait for a token, for ``/readyz``.

Why: a readiness probe must answer within its bound whatever the upstream
does; a login that hangs must not hang the probe, nor start one login per
probe. So one fetch runs at a time in a background thread (a greenlet under
gevent), and each probe waits for it at most its timeout.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from callnos_gateway.errors import TokenWaitTimeout, UpstreamError


class ReadinessProbe:
    """Runs one token fetch at a time in the background, so a probe waits no longer than its bound."""

    def __init__(self, fetch: Callable[[], object]) -> None:
        self._fetch = fetch
        self._guard = threading.Lock()
        self._attempt: _Attempt | None = None

    def wait(self, timeout: float) -> None:
        """Start a fetch unless one runs; raise its error, or ``TokenWaitTimeout`` after ``timeout`` s."""
        with self._guard:
            attempt = self._attempt
            if attempt is None or attempt.done.is_set():
                attempt = self._attempt = _Attempt()
                threading.Thread(target=self._run, args=(attempt,), name="token-readiness", daemon=True).start()
        if not attempt.done.wait(timeout):
            raise TokenWaitTimeout(f"No upstream token within {timeout:g} s (CALLNOS_READY_TIMEOUT); still trying.")
        if attempt.error is not None:
            raise attempt.error.with_traceback(None)

    def _run(self, attempt: _Attempt) -> None:
        try:
            self._fetch()
        except UpstreamError as error:
            attempt.error = error
        finally:
            attempt.done.set()


@dataclass
class _Attempt:
    done: threading.Event = field(default_factory=threading.Event)
    error: UpstreamError | None = None
