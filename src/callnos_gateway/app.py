"""The application factory: settings in, a configured Flask app out."""

from __future__ import annotations

from flask import Flask, Response
from flask_smorest import Api

from callnos_gateway.settings import Settings, load_settings
from callnos_gateway.api.schemas.answers import ProblemSchema
from callnos_gateway.api import access_log, calldata, docs, health, holidays, metrics, request_record, results, tasks
from callnos_gateway.api import traces
from callnos_gateway.api import quotas
from callnos_gateway.api import outstanding
from callnos_gateway.api import openapi_limits
from callnos_gateway.api.authorise import authorise_request
from callnos_gateway.api.services import Gateway
from callnos_gateway.api.problems import register_problem_handlers

API_INFO = {
    "API_TITLE": "callnos-gateway",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": docs.ASSETS_URL,
}
SECURITY_SCHEMES = {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
PROBLEM_EXAMPLE = {
    "type": "urn:callnos-gateway:problem:upstream_error",
    "title": "Upstream error",
    "status": 502,
    "detail": "The upstream answered HTTP 503.",
    "code": "upstream_error",
    "request_id": "4f2b9c1e0d8a4b6f9e7d5c3b1a0f2e4d",
    "upstream_status": 503,
}


class GatewayApi(Api):
    """flask-smorest's Api, documenting errors as our problem+json, not its own schema."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def create_app(settings: Settings | None = None) -> Flask:
    """Build the gateway app; settings are read from the environment when not given."""
    settings = settings or load_settings()
    app = Flask(__name__, static_folder=None)
    app.config.update(API_INFO, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    api = GatewayApi(app, spec_kwargs={"components": {"securitySchemes": SECURITY_SCHEMES}})
    api.spec.components.schemas["Problem"]["example"] = PROBLEM_EXAMPLE  # registered as ERROR_SCHEMA
    # The /v1 views register under their declared routes (api.routes); tests/test_routes.py checks the app serves exactly those.
    for blueprint in (tasks.blp, calldata.blp, holidays.blp, results.blp, health.blp, metrics.blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(outstanding.blp)
    app.register_blueprint(docs.blp)
    openapi_limits.document_limits(api.spec, settings)  # batch_size's bound is CALLNOS_MAX_BATCH
    register_problem_handlers(app)
    gateway = Gateway.install(app, settings)
    app.before_request(_begin_request)
    traces.install(app, gateway.upstream.transport, settings.paths)  # spans only while tracing is on
    metrics.install(app)
    app.before_request(authorise_request)  # after the request id and metrics: a refusal is counted and logged
    quotas.install(app)  # after authorisation: quotas are the client's
    access_log.install(app)
    app.after_request(_echo_request_id)
    return app


def _begin_request() -> None:
    request_record.begin()


def _echo_request_id(response: Response) -> Response:
    response.headers[request_record.REQUEST_ID_HEADER] = request_record.current().request_id
    return response
