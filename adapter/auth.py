"""Upstream bearer tokens, applied by the session as a ``requests`` auth object.

Two sources: a static token, or login/refresh against the upstream. The login
source holds its state behind a lock: the first thread that finds the token
missing or due logs in or refreshes; the others wait and take its token.
``CallnosAuth`` sets the header on every callnos request and, like requests'
digest auth, answers a 401/403 by dropping the token, getting a new one and
re-sending the same request exactly once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

import requests
from requests.auth import AuthBase

from adapter.errors import UpstreamAuthFailed, UpstreamError

log = logging.getLogger(__name__)

REFUSED = (401, 403)
RENEW_MARGIN_MAX = 30.0  # seconds before expiry at which a token is renewed
RENEW_MARGIN_SHARE = 0.2  # ... or this share of its lifetime, if smaller


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What login and refresh return; lifetimes in seconds."""

    token: str
    expires_in: float
    refresh_token: str | None
    refresh_expires_in: float


class TokenApi(Protocol):
    def login(self) -> TokenGrant: ...
    def refresh(self, refresh_token: str) -> TokenGrant: ...


TOKEN, REFRESH_TOKEN = "token", "refresh_token"  # which value business calls carry (CALLNOS_BUSINESS_TOKEN)


class TokenSource(Protocol):
    def current(self, kind: str = TOKEN) -> str: ...
    def invalidate(self, token: str) -> bool: ...


class StaticTokens:
    """A configured token that cannot be renewed: a refusal is final.

    It is sent whatever ``kind`` is asked for: in static mode the operator
    configures the one value the upstream expects.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def current(self, kind: str = TOKEN) -> str:
        return self._token

    def invalidate(self, token: str) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class _TokenState:
    token: str
    renew_at: float
    refresh_token: str | None
    refresh_until: float


def _state_from(grant: TokenGrant, now: float) -> _TokenState:
    margin = min(RENEW_MARGIN_MAX, grant.expires_in * RENEW_MARGIN_SHARE)
    refresh_margin = min(RENEW_MARGIN_MAX, grant.refresh_expires_in * RENEW_MARGIN_SHARE)
    return _TokenState(
        token=grant.token,
        renew_at=now + grant.expires_in - margin,
        refresh_token=grant.refresh_token,
        refresh_until=now + grant.refresh_expires_in - refresh_margin,
    )


class LoginTokens:
    """Tokens from login/refresh; one thread renews while the others wait."""

    def __init__(
        self,
        api: TokenApi,
        clock: Callable[[], float] = time.monotonic,
        on_event: Callable[[str], None] = lambda name: None,
    ) -> None:
        self._api = api
        self._clock = clock
        self._on_event = on_event
        self._lock = threading.Lock()
        self._state: _TokenState | None = None
        self._renewals = 0  # renewal attempts finished so far: tells a waiting thread one ended
        self._failure: UpstreamError | None = None  # how the last attempt failed, if it did

    def current(self, kind: str = TOKEN) -> str:
        """Return the token (or, for ``kind="refresh_token"``, its refresh token), renewing if needed."""
        state = self._valid_state()
        if kind == REFRESH_TOKEN:
            if not state.refresh_token:
                raise UpstreamAuthFailed("The upstream's token answer had no refreshToken to send.")
            return state.refresh_token
        return state.token

    def _valid_state(self) -> _TokenState:
        """Return a state that is not due for renewal, renewing it if needed.

        Threads that waited while another renewed take its outcome: its token,
        or its failure. Otherwise, with the upstream's login down, each waiting
        thread would try in turn and the last would wait for all of them.
        """
        state = self._state
        if state is not None and self._clock() < state.renew_at:
            return state
        seen = self._renewals
        with self._lock:
            state = self._state
            if state is not None and self._clock() < state.renew_at:
                return state
            if self._renewals != seen and self._failure is not None:
                raise self._failure.with_traceback(None)
            try:
                self._state = self._renew(state)
            except UpstreamError as error:
                self._failure = error
                raise
            finally:
                self._renewals += 1
            self._failure = None
            return self._state

    def invalidate(self, token: str) -> bool:
        """Forget ``token`` (either kind) after the upstream refused it (unless already replaced).

        A refused refresh token is not used to refresh: the next renewal logs in.
        """
        with self._lock:
            state = self._state
            if state is not None and token in (state.token, state.refresh_token):
                refresh_until = float("-inf") if token == state.refresh_token else state.refresh_until
                self._state = _TokenState(state.token, float("-inf"), state.refresh_token, refresh_until)
        return True

    def _renew(self, state: _TokenState | None) -> _TokenState:
        if state is not None and state.refresh_token and self._clock() < state.refresh_until:
            try:
                grant = self._api.refresh(state.refresh_token)
                self._on_event("refresh")
                return _state_from(grant, self._clock())
            except UpstreamAuthFailed:
                log.info("upstream refused the refresh token; logging in again")
        grant = self._api.login()
        self._on_event("login")
        return _state_from(grant, self._clock())


class CallnosAuth(AuthBase):
    """Puts ``Bearer <token>`` (of ``kind``) in the configured header; re-sends once after 401/403."""

    def __init__(self, tokens: TokenSource, header: str = "Authorization", kind: str = TOKEN) -> None:
        self.tokens = tokens
        self.header = header
        self.kind = kind

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = "Bearer " + self.tokens.current(self.kind)
        request.register_hook("response", self._resend_once_if_refused)
        return request

    def _resend_once_if_refused(self, response: requests.Response, **kwargs) -> requests.Response:
        sent = response.request
        if response.status_code not in REFUSED or getattr(sent, "callnos_resent", False):
            return response
        refused_token = sent.headers[self.header].removeprefix("Bearer ")
        if not self.tokens.invalidate(refused_token):
            return response
        token = self.tokens.current(self.kind)
        response.close()
        retry = sent.copy()
        retry.headers[self.header] = "Bearer " + token
        retry.callnos_resent = True  # type: ignore[attr-defined]
        log.info("upstream refused the token; re-sending once with a new one")
        again = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again

