"""Probes for the orchestrator and the load balancer.

Liveness (``/healthz``, ``/livez``) only says the process serves: restarting a
gateway because its upstream is down would not help. Readiness (``/readyz``)
says whether a request could be answered now: settings are complete (they are
checked at start, or the process would not run) and a token can be had. In
login mode it answers from the token this process holds or the token store's
(a valid stored token is enough); without one it starts a login (one at a
time, shared with the requests) and waits for it at most
``CALLNOS_READY_TIMEOUT`` seconds, so a hanging login cannot hang the probe.
In static mode it calls nothing. It never calls callnos: a probe must not
take records off the queue.
"""

from __future__ import annotations

import logging

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from callnos_gateway.errors import NotReady, UpstreamError
from callnos_gateway.api.schemas.answers import ProblemSchema
from callnos_gateway.api.services import current_gateway

log = logging.getLogger("callnos.health")

blp = Blueprint("health", __name__, description="Probes (no key needed)")

NOT_READY_EXAMPLE = {
    "type": "urn:callnos-gateway:problem:not_ready",
    "title": "Not ready",
    "status": 503,
    "detail": "No upstream token: The upstream refused the login (HTTP 401).",
    "code": "not_ready",
    "reason": "upstream_auth_failed",
}


class StatusSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class NotReadySchema(ProblemSchema):
    """The 503 problem, with the upstream problem code that made the gateway not ready."""

    reason = fields.String(metadata={"description": "Problem code of the failed token request."})


@blp.route("/healthz")
@blp.route("/livez")
@blp.response(200, StatusSchema, description="The process serves; `status` is `ok`.")
def healthz() -> dict[str, str]:
    """The process serves (no upstream call)."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200, StatusSchema, description="Ready; `status` is `ready`.")
@blp.alt_response(503, schema=NotReadySchema, content_type="application/problem+json",
                  description="No upstream token can be had.", example=NOT_READY_EXAMPLE)
def readyz() -> dict[str, str]:
    """Configuration is complete and an upstream token can be had (never calls callnos)."""
    try:
        gateway = current_gateway()
        gateway.upstream.check_token(gateway.settings.ready_timeout)
    except UpstreamError as error:
        log.warning("not ready: %s", error.code, extra={"reason": error.code})
        raise NotReady(f"No upstream token: {error.detail}", reason=error.code) from None
    return {"status": "ready"}
