"""One call of one upstream interface: token first, send, check the status, read, retry by rule.

Why one place: every business interface needs the same steps (a token got
before the exchange's clock starts, ``X-Request-ID`` forwarded, 401/403 re-sent
once by the auth object, non-2xx turned into errors, failed exchanges timed)
and differs only in what ``callnos_gateway.upstream.obs.interface`` says of it. Reading the
answer is the interface module's ``read``; a failure after sending gets the
interface's warning (a batch taken, a result written, or nothing).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from callnos_gateway.errors import NO_REQUEST_SENT, MayHaveArrived, UpstreamAuthFailed, UpstreamError, UpstreamHTTPError
from callnos_gateway.settings import Settings
from callnos_gateway.upstream.auth import CallnosAuth, TokenSource
from callnos_gateway.upstream.obs.interface import NEVER_RESEND, Interface
from callnos_gateway.upstream.protection import Guard
from callnos_gateway.upstream.transport import Transport, UpstreamReply

log = logging.getLogger(__name__)

REFUSED = (401, 403)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answered(Generic[T]):
    """What an interface answered, read, with the reply it came in (status, timing)."""

    value: T
    reply: UpstreamReply


class Caller:
    """Calls business interfaces with the configured paths and business token."""

    def __init__(self, settings: Settings, transport: Transport, tokens: TokenSource, guard: Guard | None = None) -> None:
        self.paths = settings.paths
        self.guard = guard or Guard(settings)  # the concurrency cap and the circuit breaker (upstream.protection)
        self.transport = transport
        self.tokens = tokens
        self.kind = settings.business_token
        self.budget = settings.total_timeout  # a retry starts only within it (see ``_may_retry``)
        self.auth = CallnosAuth(tokens, settings.auth_header, kind=self.kind)

    def call(self, interface: Interface, body: dict[str, Any], request_id: str, read: Callable[[bytes], T]) -> Answered[T]:
        """Send ``body`` to ``interface`` and read its 2xx answer; raise the gateway's errors.

        The guard may refuse first (circuit open, no slot in time): then nothing is sent.
        """
        with self.guard.passage():
            return self._call(interface, body, request_id, read)

    def _call(self, interface: Interface, body: dict[str, Any], request_id: str, read: Callable[[bytes], T]) -> Answered[T]:
        begun = time.monotonic()
        self._token_first()
        attempts = 1 + interface.retry.extra_attempts
        started = time.monotonic()
        for attempt in range(1, attempts + 1):
            try:
                reply = self._send(interface, body, request_id)
                return Answered(_read(read, reply), reply)
            except UpstreamError as error:
                if attempt < attempts and interface.retry.allows(error) and self._may_retry(begun):
                    log.warning("upstream %s failed (%s); sending it once more", interface.name, error.code)
                    continue
                raise _for_client(error, interface, started) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _token_first(self) -> None:
        """Log in or refresh before the exchange's clock starts.

        A login that failed after sending took nothing: its error must not
        carry the business interface's "may have been taken" warning.
        """
        try:
            self.tokens.current(self.kind)
        except MayHaveArrived as error:
            raise error.warned(NO_REQUEST_SENT) from None

    def _may_retry(self, begun: float) -> bool:
        """Retry only if login and the first exchange took at most one total timeout.

        So a read, like any request, lasts at most two total timeouts (what
        python:callnos_gateway.server.gunicorn_config sizes the worker timeout for), however slow the login was.
        """
        if time.monotonic() - begun <= self.budget:
            return True
        log.warning("no time left to send the read once more")
        return False

    def _send(self, interface: Interface, body: dict[str, Any], request_id: str) -> UpstreamReply:
        auth = self.auth if interface.business else None
        reply = self.transport.post(self.paths[interface.name], body, auth=auth, headers={"X-Request-ID": request_id})
        if reply.status in REFUSED:
            raise UpstreamAuthFailed(f"The upstream refused the gateway's credentials (HTTP {reply.status}).")
        if not 200 <= reply.status < 300:
            raise UpstreamHTTPError(reply.status)
        return reply


def _read(read: Callable[[bytes], T], reply: UpstreamReply) -> T:
    """Read a 2xx answer; an answer that cannot be read or is rejected keeps its reply (status, body)."""
    try:
        return read(reply.body)
    except UpstreamError as error:
        error.reply = reply
        raise


def _for_client(error: UpstreamError, interface: Interface, started: float) -> UpstreamError:
    """The error as the client sees it: the interface's warning, and how long the exchange took.

    A 5xx after a request that does work (callnos, a write-back) may have come
    after the work was done, so it carries the warning too.
    """
    if isinstance(error, MayHaveArrived):
        error = error.warned(interface.warning)
    elif _server_error(error) and interface.retry is NEVER_RESEND:
        error.detail = f"{error.detail} {interface.warning}"
    error.elapsed_ms = (time.monotonic() - started) * 1000  # failed exchanges are timed too
    return error


def _server_error(error: UpstreamError) -> bool:
    return isinstance(error, UpstreamHTTPError) and int(error.extra.get("upstream_status", 0)) >= 500
