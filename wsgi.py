"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``."""

import sys

from adapter.errors import ConfigError

try:
    from app import create_app

    app = create_app()
except ConfigError as error:
    sys.stderr.write(f"callnos-gateway: {error.one_line()}\n")
    raise SystemExit(3) from None
