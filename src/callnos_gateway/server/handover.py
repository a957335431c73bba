"""Settings the gunicorn master checked, handed to the workers it forks.

``python:callnos_gateway.server.gunicorn_config`` reads and checks the settings in the master, at start
and again on every ``kill -HUP``, and keeps them here; a worker forked after
that uses this copy instead of reading the environment and the clients file
itself. So:

- every worker of one generation sees the same clients file;
- a file edited without a HUP (or caught half-written) is not picked up by a
  worker gunicorn recycles (``max_requests``) or restarts after a crash;
- a HUP with a bad file keeps the last good settings and logs why, instead of
  stopping the gateway (gunicorn exits when its config file fails on reload).

Outside gunicorn (tests, other servers) nothing is kept and ``callnos_gateway/wsgi.py`` reads
the settings itself.
"""

from __future__ import annotations

from callnos_gateway.settings import Settings

_kept: Settings | None = None


def keep(settings: Settings) -> None:
    """Remember the settings the master checked last."""
    global _kept
    _kept = settings


def kept() -> Settings | None:
    """The settings the master checked last, or None outside a gunicorn master's children."""
    return _kept
