"""The floor of the stack: a Flask app that forwards the request and returns the upstream's bytes.

Why: what the gateway adds must be told apart from what its stack (gunicorn,
Flask, ``requests``) costs anyway. This app does only the unavoidable part:
one route that POSTs the request body, with its Authorization header, to the
upstream's callnos path through one ``requests.Session`` per process, and
answers the upstream's status and bytes unchanged. ``bench.e2e`` runs it with
the gateway's own ``python:callnos_gateway.server.gunicorn_config`` (same workers, threads and worker class)
and settings, in the same run as the gateway.
"""

from __future__ import annotations

import os

import requests
from flask import Flask, Response, request

CALLNOS_PATH = "/rest/isales/v1/openapi/obs/business/callnos"

app = Flask(__name__)
_session = requests.Session()
_upstream = os.environ["CALLNOS_UPSTREAM_URL"].rstrip("/") + CALLNOS_PATH


@app.post("/bare")
def forward() -> Response:
    answer = _session.post(_upstream, data=request.get_data(), timeout=30, headers={
        "Content-Type": "application/json", "Authorization": request.headers.get("Authorization", "")})
    return Response(answer.content, answer.status_code, mimetype="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return Response(b"{}", 200, mimetype="application/json")
