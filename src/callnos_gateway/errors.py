"""The one exception tree of the gateway.

Every failure a client can see is one of these classes; each carries its
HTTP status and machine-readable ``code``, and ``callnos_gateway/api/problems.py`` turns any of
them into an RFC 9457 problem answer in one place. ``requests`` and JSON
errors are translated into this tree only in ``callnos_gateway/upstream/transport.py`` and
``callnos_gateway/records/normalise.py``.

    GatewayError
    ├── ConfigError                  settings missing or bad (stops the start)
    ├── RequestError                 the client's request is at fault
    │   ├── InvalidRequest           400 invalid_request
    │   ├── Unauthorized             401 unauthorized
    │   ├── Forbidden                403 forbidden (a valid key outside its client's scope)
    │   ├── PayloadTooLarge          413 payload_too_large
    │   ├── RequestTimeout           408 request_timeout (the body did not arrive in time)
    │   ├── RequestInProgress        409 request_in_progress
    │   ├── IdempotencyKeyReused     422 idempotency_key_reused
    │   └── QuotaExceeded            429 quota_exceeded (``Retry-After``; nothing sent upstream)
    ├── NotReady                     503 not_ready
    │   └── IdempotencyStoreUnavailable  503 idempotency_store_unavailable
    └── UpstreamError                the upstream or the way to it failed
        ├── UpstreamUnreachable      502 connection failed before sending
        ├── UpstreamTimeout          504 no answer in time (the request may have done its work)
        ├── UpstreamConnectionLost   502 broke after sending (likewise)
        ├── UpstreamAuthFailed       502 credentials refused
        ├── UpstreamHTTPError        502 status not 2xx
        ├── UpstreamRejected         502 ``result`` not 0
        ├── UpstreamBadResponse      502 body not JSON or not the expected shape
        └── UpstreamHeldBack         503 not sent at all, to protect the upstream (``Retry-After``)
            ├── UpstreamBusy         503 upstream_busy: no upstream slot within the queue wait
            └── UpstreamUnavailable  503 upstream_unavailable: the circuit to the upstream is open
"""

from __future__ import annotations

from typing import Any

BATCH_MAY_BE_TAKEN = (
    "The request reached the upstream, so the batch may have been taken off its queue; "
    "retrying without an Idempotency-Key takes a new batch."
)
RESULT_MAY_BE_WRITTEN = (
    "The request reached the upstream, so the result may have been written there; "
    "the gateway did not re-send it, and a retry without the same Idempotency-Key may write it twice."
)
# The ``type`` of every problem answer: this prefix and the code (callnos_gateway/api/problems.py).
PROBLEM_TYPE = "urn:callnos-gateway:problem:"
NOTHING_TAKEN = "This read takes nothing upstream, so it is safe to retry."
NO_REQUEST_SENT = "No business request was sent upstream, so nothing was taken or written; it is safe to retry."


class GatewayError(Exception):
    """Root of every error the gateway reports."""

    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


class ConfigError(GatewayError):
    """Settings are missing or invalid; ``problems`` maps setting -> messages."""

    code = "config_error"
    title = "Configuration error"

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = problems
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Render every problem on one line, naming each setting."""
        parts = [f"{name}: {'; '.join(map(str, msgs))}" for name, msgs in sorted(self.problems.items())]
        return "invalid configuration: " + " | ".join(parts)


class RequestError(GatewayError):
    """The inbound request is at fault."""

    status = 400
    code = "invalid_request"
    title = "Invalid request"


class InvalidRequest(RequestError):
    """Body not JSON, not an object, or fields invalid (``errors``)."""

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, **({"errors": errors} if errors else {}))


class Unauthorized(RequestError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(RequestError):
    """A valid key used outside its client's scope; ``missing_scope`` says which (never which keys exist)."""

    status = 403
    code = "forbidden"
    title = "Forbidden"

    def __init__(self, detail: str, missing_scope: str, **extra: Any) -> None:
        super().__init__(detail, missing_scope=missing_scope, **extra)


class PayloadTooLarge(RequestError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class RequestTimeout(RequestError):
    """The declared body did not arrive within CALLNOS_BODY_TIMEOUT; answered by the worker, which closes."""

    status = 408
    code = "request_timeout"
    title = "Request timeout"


class RequestInProgress(RequestError):
    status = 409
    code = "request_in_progress"
    title = "Request in progress"


class IdempotencyKeyReused(RequestError):
    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


class NotReady(GatewayError):
    status = 503
    code = "not_ready"
    title = "Not ready"


class IdempotencyStoreUnavailable(NotReady):
    """The idempotency store could not be read or written: no key is taken or freed."""

    code = "idempotency_store_unavailable"
    title = "Idempotency store unavailable"


class LedgerUnavailable(NotReady):
    """The ledger could not be written: checked before callnos is called, so nothing was taken."""

    code = "ledger_unavailable"
    title = "Ledger unavailable"


class UpstreamError(GatewayError):
    """The upstream, or the way to it, failed."""

    status = 502
    code = "upstream_error"
    title = "Upstream error"
    elapsed_ms: float | None = None  # how long the failed exchange took, for metrics and logs
    # The 2xx answer that could not be read or was rejected (``callnos_gateway.upstream.obs.exchange``
    # sets it for any interface): its status goes to the access line, its body to the dead letters.
    # An ``upstream.transport.UpstreamReply``; typed loosely because errors sit below everything.
    reply: Any = None


class UpstreamUnreachable(UpstreamError):
    code = "upstream_unreachable"
    title = "Upstream unreachable"


class MayHaveArrived(UpstreamError):
    """A failure after the request may have reached the upstream: its detail warns what that means.

    The warning depends on the interface (a batch taken, a result written,
    nothing at all), so each interface may swap it with ``warned``.
    """

    default_detail = "The upstream failed after the request was sent."

    def __init__(self, detail: str | None = None, warning: str = BATCH_MAY_BE_TAKEN) -> None:
        self.plain_detail = detail or self.default_detail
        super().__init__(f"{self.plain_detail} {warning}")

    def warned(self, warning: str) -> MayHaveArrived:
        """The same failure with another warning (status, code, extra, timing and reply kept)."""
        twin = type(self).__new__(type(self))
        MayHaveArrived.__init__(twin, self.plain_detail, warning)
        twin.extra, twin.elapsed_ms, twin.reply = dict(self.extra), self.elapsed_ms, self.reply
        return twin


class UpstreamTimeout(MayHaveArrived):
    status = 504
    code = "upstream_timeout"
    title = "Upstream timeout"
    default_detail = "The upstream did not answer in time."


class TokenWaitTimeout(UpstreamError):
    """No upstream token within the wait bound: no business request was sent, so nothing was taken."""

    status = 504
    code = "upstream_timeout"
    title = "Upstream timeout"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "No upstream token in time; no request was sent upstream.")


class UpstreamConnectionLost(MayHaveArrived):
    code = "upstream_connection_lost"
    title = "Upstream connection lost"
    default_detail = "The connection broke after the request was sent."


class UpstreamAuthFailed(UpstreamError):
    code = "upstream_auth_failed"
    title = "Upstream authentication failed"


class UpstreamHTTPError(UpstreamError):
    """Upstream answered with a status that is not 2xx."""

    def __init__(self, status: int, detail: str | None = None) -> None:
        super().__init__(detail or f"The upstream answered HTTP {status}.", upstream_status=status)


class UpstreamRejected(UpstreamError):
    """Upstream answered 200 but with ``result`` other than 0."""

    code = "upstream_rejected"
    title = "Upstream rejected the request"

    def __init__(self, result: str, message: str | None = None) -> None:
        extra: dict[str, Any] = {"upstream_result": result}
        if message:
            extra["upstream_message"] = message
        super().__init__(f"The upstream answered result {result!r}.", **extra)


class UpstreamBadResponse(MayHaveArrived):
    """Upstream answered 2xx with a body that is not JSON or not the expected shape."""

    code = "upstream_bad_response"
    title = "Bad upstream response"
    default_detail = "The upstream answer could not be read."


class QuotaExceeded(RequestError):
    """The client's quota (``quota``: requests or records) is spent for now; nothing was sent upstream."""

    status = 429
    code = "quota_exceeded"
    title = "Quota exceeded"

    def __init__(self, detail: str, quota: str, retry_after: int) -> None:
        super().__init__(detail, quota=quota)
        self.retry_after = retry_after


class UpstreamHeldBack(UpstreamError):
    """The gateway did not send the request, to protect the upstream; ``retry_after`` says when to try."""

    status = 503

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(f"{detail} {NO_REQUEST_SENT}")
        self.retry_after = retry_after


class UpstreamBusy(UpstreamHeldBack):
    code = "upstream_busy"
    title = "Upstream busy"


class UpstreamUnavailable(UpstreamHeldBack):
    code = "upstream_unavailable"
    title = "Upstream unavailable"
