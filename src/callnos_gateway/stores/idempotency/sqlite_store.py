"""The SQLite store: one file shared by the gunicorn workers of one host.

Why these choices:
- ``BEGIN IMMEDIATE`` takes the database's write lock before reading, so the
  "is the key free? then take it" step is atomic across processes.
- WAL with ``synchronous=FULL``: every commit is on disk before it returns,
  so a stored answer survives a crash of the worker right after storing.
- One connection per thread and per process, opened on first use: sqlite3
  connections must not cross threads, nor a fork (``callnos_gateway.stores.connections``).
- Expired rows are removed lazily, on a claim of that key, plus a few other
  expired rows on every claim (bounded, so a claim stays fast): no cleanup job.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from callnos_gateway.stores.idempotency.base import Claimed, Outcome, StoredAnswer, judge, unavailable
from callnos_gateway.stores.connections import SQLiteFile, failures_as

log = logging.getLogger(__name__)

SWEEP_LIMIT = 16  # expired rows removed per claim, besides the claimed key's own
SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_entries (
    key         TEXT PRIMARY KEY,  -- client key id ':' Idempotency-Key
    fingerprint TEXT NOT NULL,     -- of the validated request
    token       TEXT,              -- the claim's holder while in flight; NULL once answered
    expires_at  REAL NOT NULL,     -- end of the lease while in flight, of the TTL once answered
    batch_id    TEXT,
    body        BLOB               -- the 200 body, byte for byte
);
CREATE INDEX IF NOT EXISTS idempotency_entries_expiry ON idempotency_entries (expires_at);
"""
SWEEP = """
DELETE FROM idempotency_entries WHERE key IN (
    SELECT key FROM idempotency_entries WHERE expires_at <= ? LIMIT ?)
"""


class SQLiteStore:
    """Idempotency entries in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = SQLiteFile(self.path, SCHEMA, file_mode=0o600)  # answers hold customer records

    def claim(self, key: str, fingerprint: str, lease: float) -> Outcome:
        """Take ``key`` for ``lease`` seconds, or say what holds it."""
        now, token = time.time(), uuid.uuid4().hex
        with self._transaction() as db:
            db.execute("DELETE FROM idempotency_entries WHERE key = ? AND expires_at <= ?", (key, now))
            db.execute(SWEEP, (now, SWEEP_LIMIT))
            inserted = db.execute(
                "INSERT INTO idempotency_entries (key, fingerprint, token, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (key, fingerprint, token, now + lease),
            ).rowcount
            if inserted:
                return Claimed(token)
            row = db.execute(
                "SELECT fingerprint, batch_id, body FROM idempotency_entries WHERE key = ?", (key,)
            ).fetchone()
        stored_fingerprint, batch_id, body = row
        return judge(stored_fingerprint, fingerprint, None if body is None else StoredAnswer(batch_id, bytes(body)))

    def complete(self, key: str, token: str, answer: StoredAnswer, ttl: int) -> bool:
        """Store the answer if the claim is still ours; committed to disk on return."""
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE idempotency_entries SET token = NULL, batch_id = ?, body = ?, expires_at = ?"
                " WHERE key = ? AND token = ?",
                (answer.batch_id, answer.body, time.time() + ttl, key, token),
            ).rowcount
        return updated == 1

    def release(self, key: str, token: str) -> None:
        """Free the key if the claim is still ours."""
        with self._transaction() as db:
            db.execute("DELETE FROM idempotency_entries WHERE key = ? AND token = ?", (key, token))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a write transaction; any SQLite failure becomes ``StoreUnavailable``."""
        with failures_as(unavailable), self._file.transaction() as db:
            yield db

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection in this process, opened on first use."""
        return self._file.connection()
