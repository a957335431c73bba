"""Flask-facing code: views, the problem handler, request ids and inbound keys."""
