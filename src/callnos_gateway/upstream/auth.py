"""Upstream bearer tokens, applied by the session as a ``requests`` auth object.

Two sources: a static token, or login/refresh against the upstream. The login
source keeps the token in a token store (``callnos_gateway.stores.tokens``) shared by
every worker and instance, so the deployment holds one token: one process
renews it under the store's lock while the others wait for it, and each
process keeps a copy so the hot path does not touch the store.
``CallnosAuth`` sets the header on every callnos request and, like requests'
digest auth, answers a 401/403 by dropping the token, getting a new one and
re-sending the same request exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Callable, Protocol

import requests
from requests.auth import AuthBase

from callnos_gateway.errors import TokenWaitTimeout, UpstreamAuthFailed, UpstreamError
from callnos_gateway.upstream.readiness import ReadinessProbe
from callnos_gateway.stores.tokens import MemoryStore, StoredToken, TokenStore, TokenStoreUnavailable

log = logging.getLogger(__name__)

REFUSED = (401, 403)
RENEW_MARGIN_MAX = 30.0  # seconds before expiry at which a token is renewed
RENEW_MARGIN_SHARE = 0.2  # ... or this share of its lifetime, if smaller
POLL = 0.05  # seconds between looks at the store while another process renews (sleep: threads or greenlets)
RECHECK = 0.5  # a due token still valid is used this long while another process renews it
WAIT_BEYOND_LEASE = 0.5  # waiters outlast a dead renewer's lease by this much, then renew themselves
STORE_RETRY = 2.0  # seconds a process keeps its own token before it tries a failed store again


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
    def ready(self, timeout: float) -> None: ...


class StaticTokens:
    """A configured token that cannot be renewed: a refusal is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    def current(self, kind: str = TOKEN) -> str:
        return self._token

    def invalidate(self, token: str) -> bool:
        return False

    def ready(self, timeout: float) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Copy:
    """This process's copy of a token: looked at again only from ``check_at`` on."""

    stored: StoredToken
    check_at: float
    shared: bool  # False: a token of this process only, taken while the store was down
    refused: bool = False


def _stored_from(grant: TokenGrant, now: float) -> StoredToken:
    margin = min(RENEW_MARGIN_MAX, grant.expires_in * RENEW_MARGIN_SHARE)
    refresh_margin = min(RENEW_MARGIN_MAX, grant.refresh_expires_in * RENEW_MARGIN_SHARE)
    return StoredToken(
        token=grant.token,
        refresh_token=grant.refresh_token,
        renew_at=now + grant.expires_in - margin,
        expires_at=now + grant.expires_in,
        refresh_until=now + grant.refresh_expires_in - refresh_margin,
    )


class LoginTokens:
    """Tokens from login/refresh, shared through a token store: one process renews, the others wait.

    The hot path reads this process's copy only. The store is read when the
    copy is due or was refused; a process that finds no usable token takes the
    store's renew lock (with a lease) and logs in or refreshes for everyone,
    while the others poll the store for its token, at most ``wait_bound``
    seconds. While the store is down each process renews a token of its own
    and tries the store again every ``STORE_RETRY`` seconds.
    """

    def __init__(
        self,
        api: TokenApi,
        store: TokenStore | None = None,
        key: str = "default",
        clock: Callable[[], float] = time.time,
        on_event: Callable[[str], None] = lambda name: None,
        lease: float = 30.0,
    ) -> None:
        self._api, self._store, self._key = api, store or MemoryStore(), key
        self._clock = clock
        self._on_event = on_event
        self._lease, self._wait_bound = lease, lease + WAIT_BEYOND_LEASE
        self._lock = threading.Lock()
        self._copy: _Copy | None = None
        self._renewals = 0  # renewal attempts finished so far: tells a waiting thread one ended
        self._failure: UpstreamError | None = None  # how the last attempt failed, if it did
        self._store_back_at = 0.0  # monotonic time from which a store that failed is tried again
        self._nonce = uuid.uuid4().hex[:12]
        self._readiness = ReadinessProbe(self.current)

    def current(self, kind: str = TOKEN) -> str:
        """Return the bearer value of ``kind`` ("token" or "refresh_token"), renewing if needed.

        Threads that waited while another renewed take its outcome: its token,
        or its failure. Otherwise, with the upstream's login down, each waiting
        thread would try in turn and the last would wait for all of them.
        """
        copy = self._copy
        if copy is not None and self._clock() < copy.check_at:
            return _value(copy.stored, kind)
        seen = self._renewals
        with self._lock:
            copy = self._copy
            if copy is not None and self._clock() < copy.check_at:
                return _value(copy.stored, kind)
            if self._renewals != seen and self._failure is not None:
                raise self._failure.with_traceback(None)
            try:
                self._copy = self._obtain(copy)
            except UpstreamError as error:
                self._failure = error
                raise
            finally:
                self._renewals += 1
            self._failure = None
            return _value(self._copy.stored, kind)

    def invalidate(self, token: str) -> bool:
        """Forget ``token`` after the upstream refused it; in the store only if it is still the stored one."""
        with self._lock:
            copy = self._copy
            if copy is not None and token in (copy.stored.token, copy.stored.refresh_token):
                self._copy = replace(copy, check_at=float("-inf"), refused=True)
            if self._store_up():
                try:
                    self._store.delete_if(self._key, token)
                except TokenStoreUnavailable as error:
                    self._store_failed(error)
        return True

    def ready(self, timeout: float) -> None:
        """Return if a token is at hand (here or in the store) or can be had within ``timeout`` seconds."""
        copy = self._copy
        if copy is not None and not copy.refused and self._clock() < copy.stored.expires_at:
            return
        stored = self._peek()
        if stored is not None and self._clock() < stored.expires_at:
            return
        self._readiness.wait(timeout)

    def login_fresh(self) -> bool:
        """Log in now, whatever token the store holds, and share the new token; True if the store took it.

        Why (``check-config --connect``): an answer from a stored token proves
        nothing about the password. On an upstream where each login ends the
        earlier sessions, the running workers' next refused call finds this
        token in the store instead of logging in once more each.
        """
        with self._lock:
            fresh = _stored_from(self._api.login(), self._clock())
            self._on_event("login")
            shared = self._share_fresh(fresh)
            self._copy = self._shared(fresh, fresh.renew_at) if shared else self._own_copy(fresh)
            return shared

    def _share_fresh(self, fresh: StoredToken) -> bool:
        """Put ``fresh`` in the store under its renew lock (waiting out another renewer's lease)."""
        holder, deadline = self._holder(), time.monotonic() + self._wait_bound
        try:
            while not self._store.acquire(self._key, holder, self._lease):
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL)
            try:
                return self._store.put(self._key, fresh, holder, _keep_for(fresh, self._clock()))
            finally:
                self._store.release(self._key, holder)
        except TokenStoreUnavailable as error:
            self._store_failed(error)
            return False

    def _obtain(self, copy: _Copy | None) -> _Copy:
        if self._store_up():
            try:
                return self._from_store(copy)
            except TokenStoreUnavailable as error:
                self._store_failed(error)
        return self._own(copy)

    def _from_store(self, copy: _Copy | None) -> _Copy:
        """The stored token, or one this process renews for everyone under the lock, or waits for."""
        deadline = time.monotonic() + self._wait_bound
        while True:
            stored = self._store.get(self._key)
            if stored is not None and self._usable(stored, copy):
                return self._shared(stored, stored.renew_at)
            if self._store.acquire(self._key, self._holder(), self._lease):
                return self._renew_for_everyone(copy)
            if stored is not None and self._clock() < stored.expires_at and not _refused(stored, copy):
                return self._shared(stored, min(stored.expires_at, self._clock() + RECHECK))  # while another renews
            if time.monotonic() >= deadline:
                raise TokenWaitTimeout(f"No upstream token within {self._wait_bound:g} s: another process renews it.")
            time.sleep(POLL)

    def _renew_for_everyone(self, copy: _Copy | None) -> _Copy:
        holder = self._holder()
        try:
            stored = self._store.get(self._key)  # another process may have stored one since we looked
            if stored is not None and self._usable(stored, copy):
                return self._shared(stored, stored.renew_at)
            fresh = self._still_good(copy) or self._renew(
                stored or (copy.stored if copy else None),
                before_login=lambda: self._store.acquire(self._key, holder, self._lease),
            )
            try:
                if not self._store.put(self._key, fresh, holder, _keep_for(fresh, self._clock())):
                    log.warning("the renew lock's lease ran out during the renewal; the new token was not shared")
            except TokenStoreUnavailable as error:
                self._store_failed(error)
                return self._own_copy(fresh)
            return self._shared(fresh, fresh.renew_at)
        finally:
            with contextlib.suppress(TokenStoreUnavailable):
                self._store.release(self._key, holder)

    def _own(self, copy: _Copy | None) -> _Copy:
        """While the store is down: this process's own token, renewed by itself."""
        fresh = self._still_good(copy) or self._renew(copy.stored if copy else None)
        return self._own_copy(fresh)

    def _renew(self, base: StoredToken | None, before_login: Callable[[], object] = lambda: None) -> StoredToken:
        if base is not None and base.refresh_token and self._clock() < base.refresh_until:
            try:
                grant = self._api.refresh(base.refresh_token)
                self._on_event("refresh")
                return _stored_from(grant, self._clock())
            except UpstreamAuthFailed:
                log.info("upstream refused the refresh token; logging in again")
                before_login()  # extends the renew lock's lease for the login
        grant = self._api.login()
        self._on_event("login")
        return _stored_from(grant, self._clock())

    def _shared(self, stored: StoredToken, check_at: float) -> _Copy:
        if self._copy is not None and not self._copy.shared:
            log.warning("token store answers again; using the shared upstream token")
        return _Copy(stored, check_at, shared=True)

    def _own_copy(self, stored: StoredToken) -> _Copy:
        return _Copy(stored, min(stored.renew_at, self._clock() + STORE_RETRY), shared=False)

    def _still_good(self, copy: _Copy | None) -> StoredToken | None:
        """Our own token, if not refused nor due: worth sharing or keeping rather than a new login."""
        if copy is not None and not copy.refused and self._clock() < copy.stored.renew_at:
            return copy.stored
        return None

    def _usable(self, stored: StoredToken, copy: _Copy | None) -> bool:
        return self._clock() < stored.renew_at and not _refused(stored, copy)

    def _peek(self) -> StoredToken | None:
        if not self._store_up():
            return None
        try:
            return self._store.get(self._key)
        except TokenStoreUnavailable as error:
            self._store_failed(error)
            return None

    def _store_up(self) -> bool:
        return time.monotonic() >= self._store_back_at

    def _store_failed(self, error: TokenStoreUnavailable) -> None:
        self._store_back_at = time.monotonic() + STORE_RETRY
        self._on_event("store_error")
        log.warning("token store unreachable (%s); this process uses a token of its own until it answers", error)

    def _holder(self) -> str:
        """Who holds the renew lock: host, pid (it changes at fork) and this source."""
        return f"{socket.gethostname()}/{os.getpid()}/{self._nonce}"


def _refused(stored: StoredToken, copy: _Copy | None) -> bool:
    return copy is not None and copy.refused and copy.stored.token == stored.token


def _keep_for(stored: StoredToken, now: float) -> float:
    """How long the store keeps a token: until neither it nor its refresh token can be used."""
    return max(stored.expires_at, stored.refresh_until) - now


def _value(stored: StoredToken, kind: str) -> str:
    try:
        return stored.value(kind)
    except ValueError:
        raise UpstreamAuthFailed("The upstream gave no refresh token to send.") from None


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

