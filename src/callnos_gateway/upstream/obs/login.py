"""Login and refresh (``auth/login``, ``auth/refresh``): the token pair, as ``LoginTokens``' ``TokenApi``.

Both answer ``resultData`` with ``token``, ``tokenExpirationTime``,
``refreshToken``, ``refreshExpirationTime`` (lifetimes in seconds, as numbers
or numeric strings). Login sends no auth header; refresh always carries the
refresh token, whatever ``CALLNOS_BUSINESS_TOKEN`` says. Neither is re-sent
once it may have arrived (some upstreams invalidate earlier tokens on login).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callnos_gateway.upstream.auth import TokenGrant
from callnos_gateway.errors import UpstreamAuthFailed, UpstreamBadResponse, UpstreamHTTPError, UpstreamRejected
from callnos_gateway.records.envelope import decode_json, successful_result_data
from callnos_gateway.upstream.obs.interface import NEVER_RESEND, OBS, Interface

if TYPE_CHECKING:  # not imported at run time: callnos_gateway.settings reads every Interface from this package
    from callnos_gateway.settings import Settings
    from callnos_gateway.upstream.transport import Transport, UpstreamReply

# No warning: login and refresh run inside ``LoginTokens``, which reports their failures itself.
LOGIN = Interface("login", OBS + "/auth/login", NEVER_RESEND, warning="", business=False)
REFRESH = Interface("refresh", OBS + "/auth/refresh", NEVER_RESEND, warning="", business=False)
REFUSED = (401, 403)


class LoginApi:
    """Login and refresh calls, as the ``TokenApi`` that ``LoginTokens`` uses."""

    def __init__(self, settings: Settings, transport: Transport) -> None:
        self.settings = settings
        self.transport = transport

    def login(self) -> TokenGrant:
        body = {"user": self.settings.username, "passwd": self.settings.password}
        return _grant(self.transport.post(self.settings.paths[LOGIN.name], body), "login")

    def refresh(self, refresh_token: str) -> TokenGrant:
        headers = {self.settings.auth_header: "Bearer " + refresh_token}
        path = self.settings.paths[REFRESH.name]
        return _grant(self.transport.post(path, {"refreshToken": refresh_token}, headers=headers), "refresh")


def _grant(reply: UpstreamReply, what: str) -> TokenGrant:
    if reply.status in REFUSED:
        raise UpstreamAuthFailed(f"The upstream refused the {what} (HTTP {reply.status}).")
    if not 200 <= reply.status < 300:
        raise UpstreamHTTPError(reply.status, f"The upstream {what} answered HTTP {reply.status}.")
    try:
        return read_grant(reply.body)
    except UpstreamRejected as error:
        raise UpstreamAuthFailed(f"The upstream refused the {what} (result {error.extra['upstream_result']!r}).") from None


def read_grant(body: bytes) -> TokenGrant:
    """Read a login/refresh answer; a missing token or lifetime is a bad response."""
    data = successful_result_data(decode_json(body))
    data = data if isinstance(data, dict) else {}
    problems: list[str] = []
    token = data.get("token")
    if not isinstance(token, str) or not token:
        problems.append("token")
    expires_in = _seconds(data.get("tokenExpirationTime"))
    if expires_in is None or expires_in <= 0:
        problems.append("tokenExpirationTime")
    refresh_token = data.get("refreshToken")
    if refresh_token is not None and not isinstance(refresh_token, str):
        problems.append("refreshToken")
    refresh_expires_in = _seconds(data.get("refreshExpirationTime", 0))
    if refresh_expires_in is None:
        problems.append("refreshExpirationTime")
    if problems:
        raise UpstreamBadResponse(f"The token answer is incomplete: {', '.join(problems)}.")
    return TokenGrant(token, expires_in, refresh_token or None, refresh_expires_in)


def _seconds(value: Any) -> float | None:
    """A lifetime sent as a number or a numeric string; None when it is neither."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
