"""The application factory: settings in, a configured Flask app out."""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_smorest import Api

from adapter.config import Settings, load_settings
from web import calldata, health
from web.gateway import Gateway
from web.inbound import request_id_from
from web.problems import register_problem_handlers

API_INFO = {
    "API_TITLE": "callnos-gateway",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
}


def create_app(settings: Settings | None = None) -> Flask:
    """Build the gateway app; settings are read from the environment when not given."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(API_INFO, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    api = Api(app, spec_kwargs={"components": {"securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}}})
    api.register_blueprint(calldata.blp)
    api.register_blueprint(health.blp)
    register_problem_handlers(app)
    Gateway.install(app, settings)
    app.before_request(_take_request_id)
    app.after_request(_echo_request_id)
    return app


def _take_request_id() -> None:
    g.request_id = request_id_from(request.headers.get("X-Request-ID"))


def _echo_request_id(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id") or request_id_from(None)
    return response
