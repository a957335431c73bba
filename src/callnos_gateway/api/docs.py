"""Swagger UI's files, served by the gateway itself.

A gateway in a closed network cannot reach a CDN, so ``/docs`` loads its
scripts and styles from the ``swagger-ui-bundle`` package through this
blueprint. A plain Flask blueprint: these files are not part of the API, so
they stay out of the OpenAPI document.
"""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

# Relative to the /docs page, so it still works under a path prefix (SCRIPT_NAME).
ASSETS_URL = "docs/assets/"
ASSETS_DIR = str(swagger_ui_path)

blp = Blueprint("docs_assets", __name__)


@blp.route("/docs/assets/<path:filename>")
def asset(filename: str) -> Response:
    """One Swagger UI file (cached for a day: they change only with the package)."""
    return send_from_directory(ASSETS_DIR, filename, max_age=86400)
