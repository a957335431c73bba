"""``callnos-gateway check-config``: check an environment before a (re)start.

It reads the settings exactly as the server does (``load_settings``: the
environment, then ``CALLNOS_ENV_FILE``) and builds the app the way ``callnos_gateway/wsgi.py``
does, so whatever would stop the server stops this too. Output is the
effective settings as JSON with every secret masked (``Settings.describe``:
secret fields as ``***``, passwords inside URLs as ``***``). ``--connect``
asks the readiness probe whether an upstream token can be had (a login in
login mode); like the probe it never calls callnos, so it takes no records.

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
        help="also get an upstream token (login mode), as /readyz does; never calls callnos",
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
    """Ask the readiness probe: a token can be had, or the problem code why not."""
    answer = app.test_client().get("/readyz")
    if answer.status_code == 200:
        if auth_mode == "static":
            return {"ready": True, "auth_mode": auth_mode, "note": STATIC_NOTE}
        return {"ready": True, "auth_mode": auth_mode}
    problem = answer.get_json(silent=True) or {}
    return {"ready": False, "code": problem.get("reason") or problem.get("code"), "detail": problem.get("detail")}
