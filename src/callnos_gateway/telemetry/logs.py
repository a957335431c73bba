"""JSON log lines on stderr, for the app and gunicorn alike.

Log collectors read one JSON object per line; a plain-text line (a gunicorn
"Booting worker", a traceback) would break that, so one dictConfig, used by
``python:callnos_gateway.server.gunicorn_config`` as its ``logconfig_dict`` and by ``callnos_gateway/wsgi.py`` when no
gunicorn configured logging first, sends every logger through the same
formatter and the secret filter of ``callnos_gateway.telemetry.redact``. No flask import here:
gunicorn's master loads this before any worker exists.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from callnos_gateway.telemetry import redact

FIELDS = ["levelname", "name", "process", "message"]
RENAMES = {"levelname": "level", "name": "logger", "process": "pid"}


class GatewayJsonFormatter(JsonFormatter):
    """One JSON object per record: time first, then level, logger, pid, message, extras."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {"time": log_data.pop("time"), **log_data}


class JsonStderrHandler(logging.StreamHandler):
    """stderr, JSON; its class marks logging as already set up (see ``configure``)."""


def json_formatter() -> GatewayJsonFormatter:
    """Build the formatter every handler uses."""
    return GatewayJsonFormatter(FIELDS, rename_fields=RENAMES, timestamp="time")


def logging_config(level: str = "INFO", gunicorn_level: str = "INFO") -> dict[str, Any]:
    """The dictConfig for the root logger and gunicorn's two loggers."""
    handler = {"class": f"{__name__}.JsonStderrHandler", "formatter": "json", "filters": ["context", "redact"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.json_formatter"}},
        "filters": {
            "context": {"()": "callnos_gateway.api.log_context.RequestContext"},
            "redact": {"()": "callnos_gateway.telemetry.redact.RedactSecrets"},
        },
        "handlers": {"stderr": {**handler, "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": gunicorn_level.upper(), "handlers": ["stderr"], "propagate": False},
            # The app writes its own access line (callnos_gateway/api/access_log.py): gunicorn's stays silent.
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def configure(level: str, secrets: tuple[str | None, ...] = ()) -> None:
    """Set the app's log level and secrets; install the JSON handler unless gunicorn did."""
    redact.remember(*secrets)
    logging.captureWarnings(True)  # a library's warning becomes a JSON line, not raw text
    root = logging.getLogger()
    if not any(isinstance(handler, JsonStderrHandler) for handler in root.handlers):
        logging.config.dictConfig(logging_config(level))
    root.setLevel(level.upper())


def secrets_of(settings: Any) -> tuple[str | None, ...]:
    """The values of ``Settings`` that must never appear in a log line (URL passwords and client digests too)."""
    return (*settings.secrets(), *(client.digest.hex() for client in settings.clients))


def fatal(message: str, **fields: Any) -> None:
    """Write one JSON line for a start that cannot go on, and exit with status 3."""
    record = logging.LogRecord("callnos.start", logging.CRITICAL, __file__, 0, message, (), None)
    record.__dict__.update(fields)
    redact.RedactSecrets().filter(record)
    sys.stderr.write(json_formatter().format(record) + "\n")
    sys.stderr.flush()
    raise SystemExit(3)
