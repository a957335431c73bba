"""The SQLite token store: one file shared by the gunicorn workers of one host.

Why these choices:
- The file is created with mode 0600 before SQLite opens it (SQLite gives its
  ``-wal`` and ``-shm`` files the same mode): it holds live upstream tokens.
- ``BEGIN IMMEDIATE`` takes the write lock before reading, so "is the lock
  free? then take it", "do I still hold it? then store" and "is this still the
  stored token? then delete it" are each atomic across processes.
- Reads need no transaction (WAL readers never wait for the writer), so
  looking up the stored token stays cheap.
- An entry is forgotten ``keep_for`` seconds after it was stored (the
  refresh token's lifetime): after that nobody could use it anyway.
"""

from __future__ import annotations

import functools
import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from callnos_gateway.stores.connections import SQLiteFile, failures_as
from callnos_gateway.stores.tokens.base import StoredToken, TokenStoreUnavailable

log = logging.getLogger(__name__)

FILE_MODE = 0o600
SCHEMA = """
CREATE TABLE IF NOT EXISTS upstream_tokens (
    key           TEXT PRIMARY KEY,  -- hash of upstream URL and user
    token         TEXT NOT NULL,
    refresh_token TEXT,
    renew_at      REAL NOT NULL,     -- the token source's clock (wall-clock seconds)
    expires_at    REAL NOT NULL,
    refresh_until REAL NOT NULL,
    forget_at     REAL NOT NULL      -- time.time() after which the row is ignored
);
CREATE TABLE IF NOT EXISTS token_renew_locks (
    key        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,        -- host/pid/nonce of the renewing process
    expires_at REAL NOT NULL         -- time.time() when the lease runs out
);
"""
COLUMNS = "token, refresh_token, renew_at, expires_at, refresh_until"


class SQLiteTokenStore:
    """Tokens and renew locks in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = SQLiteFile(self.path, SCHEMA, file_mode=FILE_MODE)

    def get(self, key: str) -> StoredToken | None:
        with _translated():
            row = self._file.connection().execute(
                f"SELECT {COLUMNS} FROM upstream_tokens WHERE key = ? AND forget_at > ?", (key, time.time())
            ).fetchone()
        return None if row is None else StoredToken(*row)

    def put(self, key: str, token: StoredToken, holder: str, keep_for: float) -> bool:
        with self._transaction() as db:
            if not _holds(db, key, holder):
                return False
            db.execute(
                f"INSERT OR REPLACE INTO upstream_tokens (key, {COLUMNS}, forget_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, token.token, token.refresh_token, token.renew_at, token.expires_at, token.refresh_until,
                 time.time() + keep_for),
            )
        return True

    def delete_if(self, key: str, value: str) -> bool:
        with self._transaction() as db:
            return db.execute(
                "DELETE FROM upstream_tokens WHERE key = ? AND (token = ? OR refresh_token = ?)", (key, value, value)
            ).rowcount == 1

    def acquire(self, key: str, holder: str, lease: float) -> bool:
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM token_renew_locks WHERE key = ? AND (expires_at <= ? OR holder = ?)",
                       (key, now, holder))
            return db.execute(
                "INSERT INTO token_renew_locks (key, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, holder, now + lease),
            ).rowcount == 1

    def release(self, key: str, holder: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM token_renew_locks WHERE key = ? AND holder = ?", (key, holder))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with _translated(), self._file.transaction() as db:
            yield db


def _holds(db: sqlite3.Connection, key: str, holder: str) -> bool:
    row = db.execute("SELECT 1 FROM token_renew_locks WHERE key = ? AND holder = ? AND expires_at > ?",
                     (key, holder, time.time())).fetchone()
    return row is not None


def _unavailable(error: BaseException) -> TokenStoreUnavailable:
    return TokenStoreUnavailable(f"{error.__class__.__name__}: {error}")


_translated = functools.partial(failures_as, _unavailable)
