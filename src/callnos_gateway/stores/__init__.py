"""The shared stores (SQLite for one host, Redis for several instances): tokens, idempotency, dead letters."""
