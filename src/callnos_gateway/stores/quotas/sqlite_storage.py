"""A ``limits`` storage in one SQLite file, so every worker of a host shares one count.

Why our own: ``limits`` ships in-memory, Redis, Memcached and MongoDB
storages. Memory counts per process (a quota times the number of workers,
the most frequent complaint about rate limiters behind gunicorn), and the
others need a server that a one-host deployment does not run. The gateway's
other host-wide state already lives in SQLite files
(``callnos_gateway.stores.connections.SQLiteFile``), so this class registers
the ``sqlite`` scheme with ``limits``' storage registry and implements the
few methods its fixed-window strategy uses: ``incr``, ``get``, ``get_expiry``.

A counter row is ``key, count, expires_at`` (Unix time); an expired row counts
as zero and is replaced by the next ``incr``, in one ``BEGIN IMMEDIATE``
transaction, so concurrent workers never lose an increment.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from limits.storage import Storage

from callnos_gateway.stores.connections import ThreadSharedSQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS quota_counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
"""
SCHEME = "sqlite"
PREFIX = SCHEME + ":///"


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file: ``sqlite:///var/quotas.sqlite3``."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.file = ThreadSharedSQLiteFile(uri[len(PREFIX):], SCHEMA, file_mode=0o600, durable=False)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the key's count (a new window of ``expiry`` s if none is running)."""
        now = time.time()
        with self.file.transaction() as db:
            db.execute(
                "INSERT INTO quota_counters (key, count, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET "
                "count = CASE WHEN expires_at <= ? THEN excluded.count ELSE count + excluded.count END, "
                "expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END",
                (key, amount, now + expiry, now, now),
            )
            (count,) = db.execute("SELECT count FROM quota_counters WHERE key = ?", (key,)).fetchone()
        return int(count)

    def get(self, key: str) -> int:
        """The key's count in its running window (0 when none runs)."""
        row = self._row(key)
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (Unix time; now when none runs)."""
        row = self._row(key)
        return float(row[1]) if row else time.time()

    def _row(self, key: str) -> tuple[int, float] | None:
        return self.file.connection().execute(
            "SELECT count, expires_at FROM quota_counters WHERE key = ? AND expires_at > ?", (key, time.time())
        ).fetchone()

    def check(self) -> bool:
        """Whether the file can be read."""
        try:
            self.file.connection().execute("SELECT 1")
        except (sqlite3.Error, OSError):
            return False
        return True

    def reset(self) -> int | None:
        """Forget every count."""
        with self.file.transaction() as db:
            return db.execute("DELETE FROM quota_counters").rowcount

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        with self.file.transaction() as db:
            db.execute("DELETE FROM quota_counters WHERE key = ?", (key,))
