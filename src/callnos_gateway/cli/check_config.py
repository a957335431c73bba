"""``callnos-gateway check-config``: check an environment before a (re)start.

It reads the settings exactly as the server does (``load_settings``: the
environment, then ``CALLNOS_ENV_FILE``) and builds the app the way ``callnos_gateway/wsgi.py``
does, so whatever would stop the server stops this too. Output is the
effective settings as JSON with every secret masked (``Settings.describe``:
secret fields as ``***``, passwords inside URLs as ``***``). ``--connect``
logs in afresh (login mode) and hands the new token to the shared token
store, where a running deployment takes it; it never calls callnos, so it
takes no records.

Exit status: 0 fine, 3 a bad or missing setting (one line per setting on
stderr), 4 the settings are fine but no upstream token could be had.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from callnos_gateway.settings import PREFIX, load_settings
from callnos_gateway.errors import ConfigError

HELP = "Print the effective settings (secrets masked); exit 3 naming each bad setting."
BAD_SETTINGS, NOT_READY = 3, 4
STATIC_NOTE = "static mode: the token is not checked; only a business call would use it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connect", action="store_true",
        help="also log in afresh (login mode) and share the new token; never calls callnos",
    )


def run(args: argparse.Namespace) -> int:
    """Check the settings (and with ``--connect`` the upstream login); print the report."""
    try:
        settings = load_settings()
        app = _build_app(settings)
    except ConfigError as error:
        for name, messages in sorted(error.problems.items()):
            print(f"invalid configuration: {name}: {'; '.join(map(str, messages))}", file=sys.stderr)
        return BAD_SETTINGS
    report: dict[str, Any] = {"env_file": os.environ.get(PREFIX + "ENV_FILE"), "settings": settings.describe()}
    if args.connect:
        report["connect"] = _connect(app, settings.auth_mode)
    print(json.dumps(report, indent=2, default=str))
    return NOT_READY if args.connect and not report["connect"]["ready"] else 0


def _build_app(settings: Any) -> Any:
    """Build the app as ``callnos_gateway/wsgi.py`` does (no network): its start-up checks run too."""
    from callnos_gateway.app import create_app
    from callnos_gateway.telemetry import logs

    logs.configure("WARNING", logs.secrets_of(settings))  # JSON, secrets masked, no access lines
    return create_app(settings)


def _connect(app: Any, auth_mode: str) -> dict[str, Any]:
    """Prove the credentials: a fresh login (login mode) whose token the running deployment takes.

    Never from a token already in the store (after a password change that
    would say "ok" and the gateway would fail at its next renewal), and never
    callnos (it takes records for good). Static mode asks nothing.
    """
    from callnos_gateway.api.services import EXTENSION
    from callnos_gateway.errors import UpstreamError

    if auth_mode == "static":
        return {"ready": True, "auth_mode": auth_mode, "note": STATIC_NOTE}
    try:
        shared = app.extensions[EXTENSION].upstream.login_fresh()
    except UpstreamError as error:
        return {"ready": False, "code": error.code, "detail": error.detail}
    return {"ready": True, "auth_mode": auth_mode, "token_shared": shared}
