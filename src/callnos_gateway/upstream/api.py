"""``UpstreamApi``: the gateway's one entry to the upstream, one method per interface.

It owns the transport and the token source and runs each call through
``callnos_gateway.upstream.obs.exchange.Caller`` with the rules of the interface's own module
(``callnos_gateway/upstream/obs/<interface>.py``: path setting, retry rule, answer reading).
A request that may have arrived is never re-sent, except a read (tasks,
isholiday, discovery) once, and any request once after a 401/403 with a new
token (a refused request did nothing).
"""

from __future__ import annotations

from typing import Callable

from callnos_gateway.records.normalise import NormalisedBatch
from callnos_gateway.upstream.auth import LoginTokens, StaticTokens, TokenSource
from callnos_gateway.settings import Settings
from callnos_gateway.upstream.obs import call_result, callnos, discovery, isholiday, midresult, tasks
from callnos_gateway.upstream.obs.exchange import Answered, Caller
from callnos_gateway.upstream.obs.login import LoginApi
from callnos_gateway.upstream.protection import Guard, ProtectionEvents
from callnos_gateway.stores.tokens import open_token_store, token_key
from callnos_gateway.upstream.transport import Transport

__all__ = ["LoginApi", "UpstreamApi", "make_token_source"]


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
    """Calls the upstream's interfaces with auth applied; raises the gateway's errors."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport | None = None,
        on_token_event: Callable[[str], None] = lambda name: None,
        protection_events: ProtectionEvents | None = None,
    ) -> None:
        self.settings = settings
        self.transport = transport or Transport(settings)
        self.tokens = make_token_source(settings, self.transport, on_token_event)
        self.guard = Guard(settings, protection_events)
        self.caller = Caller(settings, self.transport, self.tokens, self.guard)

    def callnos(self, body: dict[str, int], request_id: str) -> Answered[NormalisedBatch]:
        """Take one batch, normalised; an unreadable answer raises ``UpstreamBadResponse`` with its reply."""
        return self.caller.call(callnos.CALLNOS, body, request_id, callnos.read)

    def tasks(self, sub_cc_no: int, vdn_id: int, request_id: str) -> Answered[list[str]]:
        """List the task ids of a call center and VCC."""
        return self.caller.call(tasks.TASKS, tasks.request_body(sub_cc_no, vdn_id), request_id, tasks.read)

    def is_holiday(self, sub_cc_no: int, vdn_id: int, holiday_id: str, request_id: str) -> Answered[bool]:
        """Ask whether a holiday rule applies."""
        body = isholiday.request_body(sub_cc_no, vdn_id, holiday_id)
        return self.caller.call(isholiday.HOLIDAY, body, request_id, isholiday.read)

    def write_result(self, body: dict[str, object], request_id: str, final: bool) -> Answered[None]:
        """Write a call's final (``call/result``) or intermediate (``push/midresult``) result once."""
        unit = call_result.RESULT if final else midresult.MIDRESULT
        return self.caller.call(unit, body, request_id, call_result.read if final else midresult.read)

    def discover(self, request_id: str) -> Answered[discovery.Discovered]:
        """Ask the upstream which paths it serves (the ``discover`` command; never callnos)."""
        return self.caller.call(discovery.DISCOVERY, discovery.request_body(), request_id, discovery.read)

    def login_fresh(self) -> bool | None:
        """Log in now and share the token (``check-config --connect``); None in static mode (nothing to prove)."""
        return self.tokens.login_fresh() if isinstance(self.tokens, LoginTokens) else None

    def check_token(self, timeout: float) -> None:
        """Make sure a token is at hand or can be had within ``timeout`` s (readiness); never calls callnos."""
        self.tokens.ready(timeout)
