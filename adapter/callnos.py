"""The upstream's three interfaces: login, refresh and callnos.

``UpstreamApi`` is what the gateway calls: it owns the transport and the
token source, turns refusals and non-2xx statuses into errors, and never
re-sends a callnos request except through ``CallnosAuth``'s single re-send
after an auth refusal (a refused request took no records).
"""

from __future__ import annotations

import time
from typing import Callable

from adapter.auth import CallnosAuth, LoginTokens, StaticTokens, TokenGrant, TokenSource
from adapter.config import Settings
from adapter.errors import UpstreamAuthFailed, UpstreamError, UpstreamHTTPError, UpstreamRejected
from adapter.token_store import open_token_store, token_key
from adapter.transport import Transport, UpstreamReply
from schemas.upstream import token_grant

BASE_PATH = "/rest/isales/v1/openapi/obs"
CALLNOS_PATH = BASE_PATH + "/business/callnos"
LOGIN_PATH = BASE_PATH + "/auth/login"
REFRESH_PATH = BASE_PATH + "/auth/refresh"
REFUSED = (401, 403)


class LoginApi:
    """Login and refresh calls, as the ``TokenApi`` that ``LoginTokens`` uses."""

    def __init__(self, settings: Settings, transport: Transport) -> None:
        self.settings = settings
        self.transport = transport

    def login(self) -> TokenGrant:
        body = {"user": self.settings.username, "passwd": self.settings.password}
        return self._grant(self.transport.post(LOGIN_PATH, body), "login")

    def refresh(self, refresh_token: str) -> TokenGrant:
        headers = {self.settings.auth_header: "Bearer " + refresh_token}
        reply = self.transport.post(REFRESH_PATH, {"refreshToken": refresh_token}, headers=headers)
        return self._grant(reply, "refresh")

    def _grant(self, reply: UpstreamReply, what: str) -> TokenGrant:
        if reply.status in REFUSED:
            raise UpstreamAuthFailed(f"The upstream refused the {what} (HTTP {reply.status}).")
        if not 200 <= reply.status < 300:
            raise UpstreamHTTPError(reply.status, f"The upstream {what} answered HTTP {reply.status}.")
        try:
            grant = token_grant(reply.body)
        except UpstreamRejected as error:
            raise UpstreamAuthFailed(f"The upstream refused the {what} (result {error.extra['upstream_result']!r}).") from None
        return TokenGrant(grant["token"], grant["expires_in"], grant["refresh_token"], grant["refresh_expires_in"])


def make_token_source(settings: Settings, transport: Transport, on_event: Callable[[str], None]) -> TokenSource:
    """Pick the token source the settings ask for; login tokens live in ``CALLNOS_TOKEN_STORE``.

    The renew lock's lease covers one exchange (``CALLNOS_TOTAL_TIMEOUT``)
    plus a second; a renewer that must log in after a refused refresh extends it.
    """
    if settings.auth_mode == "static":
        return StaticTokens(settings.token or "")
    store = open_token_store(settings.token_store)
    key = token_key(settings.upstream_url, settings.username or "")
    lease = (settings.total_timeout or settings.read_timeout) + 1.0
    return LoginTokens(LoginApi(settings, transport), store, key, on_event=on_event, lease=lease)


class UpstreamApi:
    """Fetches one callnos batch with auth applied; raises the gateway's errors."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport | None = None,
        on_token_event: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.transport = transport or Transport(settings)
        self.tokens = make_token_source(settings, self.transport, on_token_event)
        self.auth = CallnosAuth(self.tokens, settings.auth_header)

    def callnos(self, body: dict[str, int], request_id: str) -> UpstreamReply:
        """Send one callnos request; return the 2xx reply or raise."""
        self.tokens.current()  # log in or refresh first, outside the callnos exchange's deadline
        started = time.monotonic()
        try:
            reply = self.transport.post(CALLNOS_PATH, body, auth=self.auth, headers={"X-Request-ID": request_id})
            if reply.status in REFUSED:
                raise UpstreamAuthFailed(f"The upstream refused the gateway's credentials (HTTP {reply.status}).")
            if not 200 <= reply.status < 300:
                raise UpstreamHTTPError(reply.status)
        except UpstreamError as error:
            error.elapsed_ms = (time.monotonic() - started) * 1000  # failed exchanges are timed too
            raise
        return reply

    def check_token(self, timeout: float) -> None:
        """Make sure a token is at hand or can be had within ``timeout`` s (readiness); never calls callnos."""
        self.tokens.ready(timeout)
