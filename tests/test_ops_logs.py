"""JSON log lines, the access line's fields, and secrets masked whoever logs them."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import API_KEY, fetch, login_settings
from callnos_gateway.telemetry import logs, redact
from callnos_gateway.api.log_context import RequestContext

ROOT = Path(__file__).resolve().parent.parent
ACCESS_FIELDS = {"request_id", "batch_id", "client", "method", "path", "status", "duration_ms",
                 "upstream_status", "upstream_ms", "records", "code", "replayed"}


@pytest.fixture
def json_log():
    """A private logger writing through the gateway's formatter and secret filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.json_formatter())
    handler.addFilter(redact.RedactSecrets())
    logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_line_time_first(json_log):
    logger, lines = json_log
    logger.info("two\nlines", extra={"batch_id": "b1"})
    [line] = lines()
    assert list(line)[:5] == ["time", "level", "logger", "pid", "message"]
    assert (line["level"], line["message"], line["batch_id"]) == ("INFO", "two\nlines", "b1")


def test_a_secret_put_in_a_log_message_is_scrubbed(json_log):
    logger, lines = json_log
    secret = "pa55-" + uuid.uuid4().hex
    redact.remember(secret)
    logger.warning("password is %s", secret)
    logger.warning(f"inline {secret}")
    logger.warning("extra", extra={"sent": {"headers": [f"X-API-Key: {secret}"]}})
    logger.warning("header", extra={"auth": "Bearer eyJhbGciOi.J9.sig"})
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        logger.exception("boom")
    text = json.dumps(lines())
    assert len(lines()) == 5 and secret not in text and "eyJhbGciOi" not in text
    assert text.count(redact.MASK) == 5


def test_very_short_values_are_not_masked(json_log):
    logger, lines = json_log
    redact.remember("ab", "", None)
    logger.info("about a tab")
    assert lines()[0]["message"] == "about a tab"


def test_the_started_app_masks_its_settings_secrets_in_any_line():
    token, password, key = (f"{kind}-{uuid.uuid4().hex}" for kind in ("tok", "pw", "key"))
    env = {"PATH": "/usr/bin:/bin", "CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_AUTH_MODE": "static",
           "CALLNOS_TOKEN": token, "CALLNOS_PASSWORD": password, "CALLNOS_API_KEYS": key}
    script = ("import logging, callnos_gateway.wsgi\n"
              f"logging.getLogger('careless').warning('leaking %s %s %s', {token!r}, {password!r}, {key!r})\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    [line] = [json.loads(text) for text in result.stderr.splitlines()]
    assert result.returncode == 0 and line["message"] == "leaking [REDACTED] [REDACTED] [REDACTED]"


def access_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "callnos.access"]


def test_one_access_line_per_request_with_every_field(gateway, sim, caplog):
    caplog.set_level(logging.INFO, logger="callnos.access")
    client = gateway(login_settings(sim.url))
    answer = fetch(client, **{"X-Request-ID": "trace-42"})
    [record] = access_records(caplog)
    fields = {name: getattr(record, name) for name in ACCESS_FIELDS}
    assert fields["request_id"] == "trace-42" and fields["batch_id"] == answer.json["batch_id"]
    assert (fields["method"], fields["path"], fields["status"]) == ("POST", "/v1/call-data", 200)
    assert (fields["upstream_status"], fields["records"], fields["code"]) == (200, 5, None)
    assert fields["duration_ms"] >= fields["upstream_ms"] > 0
    assert fields["client"] and fields["client"] not in API_KEY and API_KEY not in str(vars(record))


def test_an_error_answer_logs_its_code_and_the_upstream_status(gateway, sim, caplog):
    caplog.set_level(logging.INFO, logger="callnos.access")
    client = gateway(login_settings(sim.url))
    fetch(client, **{"X-API-Key": "wrong-key"})
    fetch(client, **{"X-Request-ID": "sim-fault-status:503"})
    refused, failed = access_records(caplog)
    assert (refused.status, refused.code, refused.client, refused.batch_id) == (401, "unauthorized", None, None)
    assert (failed.status, failed.code, failed.upstream_status) == (502, "upstream_error", 503)
    assert "wrong-key" not in str(vars(refused))


def test_gunicorn_lines_go_through_the_same_formatter_and_its_access_log_is_silent():
    config = logs.logging_config("INFO", "warning")
    assert config["loggers"]["gunicorn.error"] == {"level": "WARNING", "handlers": ["stderr"], "propagate": False}
    assert config["loggers"]["gunicorn.access"]["handlers"] == []
    assert config["handlers"]["stderr"]["filters"] == ["context", "redact"]


def test_every_line_logged_during_a_request_carries_its_request_and_batch_ids(gateway, sim):
    """Not only the access line: the auth re-send notice here, or any warning."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.json_formatter())
    handler.addFilter(RequestContext())
    auth_logger = logging.getLogger("callnos_gateway.upstream.auth")
    auth_logger.addHandler(handler)
    auth_logger.setLevel(logging.INFO)
    try:
        client = gateway(login_settings(sim.url))
        sim.push_faults("callnos", ["status:401"])
        response = fetch(client, **{"X-Request-ID": "ctx-1"})
    finally:
        auth_logger.removeHandler(handler)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert "re-sending" in line["message"]
    assert (line["request_id"], line["batch_id"]) == ("ctx-1", response.headers["X-Batch-ID"])
