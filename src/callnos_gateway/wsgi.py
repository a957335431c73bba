"""WSGI entry point for gunicorn: ``gunicorn -c python:callnos_gateway.server.gunicorn_config callnos_gateway.wsgi:app``.

Settings are read once here (under gunicorn: the copy its master checked,
``callnos_gateway.server.handover``); a bad one stops the process with one JSON line naming
it. Logging becomes JSON on stderr with the settings' secrets masked (under
gunicorn the config already did the JSON part; this sets the level).

Once the app is built, its objects are frozen out of the cyclic garbage
collector: a full collection otherwise walks them all (~70,000, ~25 ms) and
was most of the p99 latency (docs/PERFORMANCE.md). And the youngest
generation is collected only past YOUNG_OBJECTS live new containers, not
700: a batch's records are all alive until the answer is written, so at 700
every record was walked two or three times while it was being built (~1.7 ms
of a 1,000-record request); the gateway's garbage is freed by reference
counting, the collector only looks for cycles, and this leaves it that.
"""

import gc
import logging

from callnos_gateway.server import handover
from callnos_gateway.settings import load_settings
from callnos_gateway.errors import ConfigError
from callnos_gateway.app import create_app
from callnos_gateway.telemetry import logs

YOUNG_OBJECTS = 50_000  # above the containers a 1,000-record batch keeps alive at once (~13,000)

try:
    settings = handover.kept() or load_settings()
    logs.configure(settings.log_level, logs.secrets_of(settings))
    if not settings.api_keys and not settings.clients:
        logging.getLogger("callnos.start").warning("CALLNOS_ALLOW_ANONYMOUS=true: /v1 answers without a key")
    app = create_app(settings)
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
except ConfigError as error:
    logs.fatal(error.one_line(), settings=sorted(error.problems))
