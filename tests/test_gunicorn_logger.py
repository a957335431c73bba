"""gunicorn builds no access atoms for the access line the gateway's logging drops; it does when it is on.

Run in a subprocess: the logger applies a dictConfig to the process's logging.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CODE = """
import logging
from gunicorn.config import Config
from callnos_gateway.server.gunicorn_logger import GatewayLogger
from callnos_gateway.telemetry import logs

cfg = Config()
cfg.set("logconfig_dict", logs.logging_config())
log = GatewayLogger(cfg)
print("silent", log.access_log_enabled)
log.access(None, None, None, None)  # would raise building atoms from None
access = logging.getLogger("gunicorn.access")
access.setLevel(logging.INFO)
print("level only", log.access_log_enabled)
access.addHandler(logging.NullHandler())
print("on", log.access_log_enabled)
"""


def test_the_silent_access_log_costs_no_atoms_and_an_enabled_one_is_written():
    done = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["silent False", "level only False", "on True"]


def test_the_shipped_config_uses_it():
    code = ("import os; os.environ.update(CALLNOS_UPSTREAM_URL='http://127.0.0.1:9', CALLNOS_AUTH_MODE='static', "
            "CALLNOS_TOKEN='t0ken-value', CALLNOS_API_KEYS='k'*16, CALLNOS_SUB_CC_NO='1', CALLNOS_VDN_ID='1')\n"
            "from callnos_gateway.server import gunicorn_config as c; print(c.logger_class)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("callnos_gateway.server.gunicorn_logger.GatewayLogger")
