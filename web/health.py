"""Probes: liveness never touches the upstream; readiness may log in, never calls callnos."""

from __future__ import annotations

from flask import jsonify
from flask_smorest import Blueprint

from adapter.errors import NotReady, UpstreamError
from web.gateway import current_gateway

blp = Blueprint("health", __name__, description="Probes")


@blp.route("/healthz")
@blp.route("/livez")
def healthz():
    """The process serves (no upstream call)."""
    return jsonify(status="ok")


@blp.route("/readyz")
def readyz():
    """Configuration is complete and an upstream token can be had."""
    try:
        current_gateway().upstream.check_token()
    except UpstreamError as error:
        raise NotReady(f"No upstream token: {error.code}.") from None
    return jsonify(status="ready")
