"""The gateway's WSGI app with a store that kills its worker right after storing an answer.

For the test that an answer stored by a worker that died before sending it
is not lost (test_idempotency_processes.py). The crash lives here, in the
tests, so production code carries no test hook:

    gunicorn -c python:callnos_gateway.server.gunicorn_config --pythonpath tests crash_after_store_wsgi:app
"""

from __future__ import annotations

import os

from callnos_gateway.api.services import EXTENSION
from callnos_gateway.wsgi import app

CRASH_STATUS = 70


class CrashAfterStore:
    """Wraps the Idempotency-Key store: once an answer is stored, the worker exits before sending it."""

    def __init__(self, store) -> None:
        self._store = store

    def complete(self, *args, **kwargs) -> bool:
        kept = self._store.complete(*args, **kwargs)
        if kept:
            os._exit(CRASH_STATUS)
        return kept

    def __getattr__(self, name: str):
        return getattr(self._store, name)


gateway = app.extensions[EXTENSION]
gateway.idempotency = CrashAfterStore(gateway.idempotency)
