"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Settings are read once here (under gunicorn: the copy its master checked,
``adapter.handover``); a bad one stops the process with one JSON line naming
it. Logging becomes JSON on stderr with the settings' secrets masked (under
gunicorn the config already did the JSON part; this sets the level).

Once the app is built, its objects are frozen out of the cyclic garbage
collector: a full collection otherwise walks them all (~70,000, ~25 ms) and
was most of the p99 latency (docs/PERFORMANCE.md).
"""

import gc
import logging

from adapter import handover
from adapter.config import load_settings
from adapter.errors import ConfigError
from app import create_app
from web import logs

try:
    settings = handover.kept() or load_settings()
    logs.configure(settings.log_level, logs.secrets_of(settings))
    if not settings.api_keys and not settings.clients:
        logging.getLogger("callnos.start").warning("CALLNOS_ALLOW_ANONYMOUS=true: /v1 answers without a key")
    app = create_app(settings)
    gc.freeze()
except ConfigError as error:
    logs.fatal(error.one_line(), settings=sorted(error.problems))
