"""The only place the gateway talks HTTP to the upstream.

One pooled ``requests.Session`` per process. Each exchange is bounded three
ways: a connect timeout, a per-read timeout, and a total deadline that the
watchdog of ``callnos_gateway.upstream.deadline`` enforces on the socket (an upstream that
drips its headers or body cannot hold a worker). The body read is capped in
size. Every ``requests``/``urllib3`` failure is translated
here into the ``callnos_gateway.errors`` tree, and only connection failures that
happened before any byte was sent are retried: every callnos request takes
records off the upstream queue, so a request that may have arrived is never
sent again.

Each exchange runs inside ``Transport.spans(path)``: nothing while tracing is
off; with tracing on (``callnos_gateway.api.traces`` sets it) a child span whose
``traceparent`` goes upstream with the request, and which learns the status
and the number of connection attempts.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, ContextManager

import orjson
import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from callnos_gateway.settings import Settings
from callnos_gateway.upstream.deadline import CURRENT, POOL_CLASSES, WATCHDOG, Exchange
from callnos_gateway.errors import (
    UpstreamBadResponse,
    UpstreamConnectionLost,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
TUNNEL_REFUSED = re.compile(r"Tunnel connection failed: (\d{3})")
OVERDUE = "The upstream exchange did not complete within the total timeout."
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class UpstreamReply:
    """A complete upstream answer: status, body bytes and how long it took."""

    status: int
    body: bytes
    elapsed_ms: float


class _NoSpan:
    """An exchange's span while tracing is off: no header to send, nothing to note."""

    headers: dict[str, str] = {}

    def note(self, **facts: Any) -> None:
        return None

    def failed(self, code: str) -> None:
        return None


NO_SPAN = _NoSpan()


def no_spans(path: str) -> ContextManager[_NoSpan]:
    """The default ``Transport.spans``: every exchange untraced."""
    return contextlib.nullcontext(NO_SPAN)


class _NotSent(Exception):
    """This exchange's own connection failed before sending: the one retryable case.

    An ``UpstreamUnreachable`` raised from inside the exchange by the auth
    object (its login already retried) is not wrapped, so retries never nest.
    """

    def __init__(self, error: UpstreamUnreachable) -> None:
        super().__init__(str(error))
        self.error = error


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections that hand their socket to the deadline watchdog."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The CALLNOS_PROXY_URL pools: the same deadline-aware connections as without a proxy."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = POOL_CLASSES
        return manager


def build_session(settings: Settings) -> requests.Session:
    """Make the process's pooled session: no retries inside urllib3, no cookies, no env."""
    session = requests.Session()
    session.trust_env = False  # no .netrc credentials or proxy variables (HTTP_PROXY, NO_PROXY...) leak in
    session.proxies = settings.proxies  # CALLNOS_PROXY_URL alone decides; HTTPS goes through CONNECT
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    no_retry = Retry(total=0, connect=0, read=False, status=0, other=0, redirect=0, raise_on_status=False)
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=settings.pool_size, max_retries=no_retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = settings.verify
    return session


class Transport:
    """Sends JSON POSTs to the upstream base URL with the rules above."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.base_url = settings.upstream_url.rstrip("/")
        self.session = session or build_session(settings)
        self.spans: Callable[[str], ContextManager[Any]] = no_spans
        self._urls: dict[str, str] = {}

    def post(
        self,
        path: str,
        payload: dict[str, Any],
        *,
        auth: requests.auth.AuthBase | None = None,
        headers: dict[str, str] | None = None,
    ) -> UpstreamReply:
        """POST ``payload`` to ``path``; retry only what cannot have reached the upstream."""
        started = time.monotonic()
        exchange = Exchange(started + self.settings.total_timeout)
        outer = CURRENT.set(exchange)
        WATCHDOG.watch(exchange)
        try:
            with self.spans(path) as span:
                return self._traced(span, path, orjson.dumps(payload), auth, {**(headers or {}), **span.headers},
                                    exchange, started)
        finally:
            exchange.finish()
            CURRENT.reset(outer)

    def _traced(self, span, path, body, auth, headers, exchange: Exchange, started: float) -> UpstreamReply:
        """Run the attempts and note on the exchange's span how they ended."""
        try:
            reply = self._attempts(path, body, auth, headers, exchange, started, span)
        except UpstreamError as error:
            span.failed(error.code)
            raise
        span.note(status=reply.status)
        return reply

    def _attempts(self, path, body, auth, headers, exchange: Exchange, started: float, span=NO_SPAN) -> UpstreamReply:
        """Try the exchange; retry only while nothing can have been sent."""
        deadline = exchange.deadline
        attempt = 0
        while True:
            attempt += 1
            span.note(attempts=attempt)
            try:
                status, data = self._exchange(path, body, auth, headers, exchange)
            except _NotSent as not_sent:
                if not self._may_retry(attempt, deadline):
                    raise not_sent.error from None
                log.warning("upstream unreachable, retrying", extra={"attempt": attempt, "reason": str(not_sent)})
                time.sleep(self.settings.retry_backoff * (2 ** (attempt - 1)))
                continue
            return UpstreamReply(status, data, (time.monotonic() - started) * 1000)

    def _may_retry(self, attempt: int, deadline: float) -> bool:
        backoff = self.settings.retry_backoff * (2 ** (attempt - 1))
        return attempt <= self.settings.connect_retries and time.monotonic() + backoff < deadline

    def _exchange(self, path, body, auth, headers, exchange: Exchange) -> tuple[int, bytes]:
        """One attempt: send, then read the whole body within the deadline."""
        remaining = exchange.deadline - time.monotonic()
        read_timeout = max(0.001, min(self.settings.read_timeout, remaining))
        try:
            response = self.session.send(
                self._prepared(path, body, auth, headers),
                timeout=(self.settings.connect_timeout, read_timeout),
                stream=True,
                verify=self.session.verify,
                cert=None,
                proxies=self.session.proxies,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            translated = translate(error, exchange)
            if isinstance(translated, UpstreamUnreachable) and _may_change_on_retry(error):
                raise _NotSent(translated) from None
            raise translated from None
        return response.status_code, read_body(response, self.settings.max_response_bytes, exchange)

    def _prepared(self, path: str, body: bytes, auth, headers: dict[str, str] | None) -> requests.PreparedRequest:
        """The request ``Session.post`` would send, prepared without its per-call merging.

        ``Session.request`` merges cookies, proxies, environment settings and
        hooks on every call (~0.1 ms of CPU here) to arrive at what this
        session fixed when it was built: no cookies (its policy refuses them
        all), no environment, its proxies and ``verify``, no hooks of its own.
        The URL is prepared once per path, by requests itself; the headers are
        the session's, then the JSON ones, then the caller's, as requests
        merges them; the body, its length and the auth object's headers and
        hook as ``PreparedRequest.prepare`` sets them.
        """
        prepared = requests.PreparedRequest()
        prepared.method = "POST"
        prepared.url = self._urls.get(path) or self._prepare_url(path)
        prepared.prepare_headers({**self.session.headers, **JSON_HEADERS, **(headers or {})})
        prepared.body = body
        prepared.prepare_content_length(body)
        prepared.prepare_auth(auth, prepared.url)
        return prepared

    def _prepare_url(self, path: str) -> str:
        url = requests.PreparedRequest()
        url.prepare_url(self.base_url + path, None)
        self._urls[path] = url.url
        return url.url


def read_body(response: requests.Response, limit: int, exchange: Exchange) -> bytes:
    """Read a streamed body, refusing more than ``limit`` bytes or reading past the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise UpstreamBadResponse(f"The upstream answer is {declared} bytes, over the {limit}-byte limit.")
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.raw.read1(READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise UpstreamBadResponse(f"The upstream answer is over the {limit}-byte limit.")
            if time.monotonic() > exchange.deadline:
                raise UpstreamTimeout(OVERDUE)
            chunks.append(chunk)
    except UpstreamError:
        response.close()
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        response.close()
        raise translate(error, exchange) from None
    response.raw.release_conn()
    return b"".join(chunks)


def translate(error: BaseException, exchange: Exchange | None = None) -> UpstreamError:
    """Map a ``requests``/``urllib3``/socket failure to the gateway's tree."""
    if exchange is not None and exchange.expired:
        return UpstreamTimeout(OVERDUE)
    if isinstance(error, requests.ConnectTimeout):
        return UpstreamUnreachable("Connecting to the upstream timed out.")
    if isinstance(error, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return UpstreamTimeout()
    if isinstance(error, requests.exceptions.SSLError):
        return UpstreamUnreachable("The TLS handshake with the upstream failed.")
    if isinstance(error, requests.exceptions.ProxyError):
        return UpstreamUnreachable(_proxy_failure(error))
    if isinstance(error, requests.ConnectionError) and _failed_before_sending(error):
        return UpstreamUnreachable("The upstream refused or could not be reached.")
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return UpstreamBadResponse("The upstream answer could not be decoded.")
    return UpstreamConnectionLost()


def _failed_before_sending(error: requests.ConnectionError) -> bool:
    """True when urllib3 says the TCP connection itself could not be made."""
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _may_change_on_retry(error: requests.RequestException) -> bool:
    """A refused certificate, or a proxy refusing us with a 4xx (407: wrong credentials), stays refused."""
    if isinstance(error, requests.exceptions.SSLError):
        return False
    refused = TUNNEL_REFUSED.search(str(error)) if isinstance(error, requests.exceptions.ProxyError) else None
    return not (refused and refused.group(1).startswith("4"))


def _proxy_failure(error: requests.exceptions.ProxyError) -> str:
    """Say why CALLNOS_PROXY_URL failed, never quoting the URL (it may hold credentials).

    urllib3 raises a proxy error only before the upstream got a byte: the proxy
    could not be reached, or it refused the CONNECT tunnel (its status is kept).
    """
    refused = TUNNEL_REFUSED.search(str(error))
    if refused:
        return f"The proxy refused the tunnel to the upstream (HTTP {refused.group(1)})."
    return "The proxy (CALLNOS_PROXY_URL) refused the connection or could not be reached."
