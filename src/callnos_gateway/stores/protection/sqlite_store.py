"""Slots and circuit in one SQLite file: every worker of a host sees the same ones.

A slot is taken in a ``BEGIN IMMEDIATE`` transaction (ended leases dropped,
then counted), so two workers can never both take the last one. A full cap is
seen by a plain read first, so waiting workers poll without taking the
file's write lock.
"""

from __future__ import annotations

import functools
import sqlite3
import time

from callnos_gateway.stores.connections import ThreadSharedSQLiteFile, failures_as
from callnos_gateway.stores.protection.base import CircuitChange, CircuitRow, ProtectionStoreUnavailable

SCHEMA = """
CREATE TABLE IF NOT EXISTS upstream_slots (holder TEXT PRIMARY KEY, lease_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS circuit (
    name TEXT PRIMARY KEY, failures INTEGER NOT NULL, open_until REAL, trial_until REAL
);
"""
COUNT = "SELECT COUNT(*) FROM upstream_slots WHERE lease_until > ?"
ROW = "SELECT failures, open_until, trial_until FROM circuit WHERE name = 'upstream'"
_translated = functools.partial(failures_as, lambda error: ProtectionStoreUnavailable(error.__class__.__name__))


class SQLiteProtection:
    """Slots and circuit in ``path`` (created with mode 0600)."""

    def __init__(self, path: str) -> None:
        self.file = ThreadSharedSQLiteFile(path, SCHEMA, file_mode=0o600, durable=False)

    def take_slot(self, holder: str, cap: int, lease: float) -> bool:
        with _translated():
            if self._count(self.file.connection()) >= cap:
                return False
            with self.file.transaction() as db:
                now = time.time()
                db.execute("DELETE FROM upstream_slots WHERE lease_until <= ?", (now,))
                if self._count(db) >= cap:
                    return False
                db.execute("INSERT OR REPLACE INTO upstream_slots VALUES (?, ?)", (holder, now + lease))
                return True

    def give_slot(self, holder: str) -> None:
        with _translated():
            with self.file.transaction() as db:
                db.execute("DELETE FROM upstream_slots WHERE holder = ?", (holder,))

    def slots_in_use(self) -> int:
        with _translated():
            return self._count(self.file.connection())

    def circuit(self) -> CircuitRow:
        with _translated():
            return _row(self.file.connection())

    def change_circuit(self, change: CircuitChange) -> tuple[CircuitRow, CircuitRow]:
        with _translated():
            with self.file.transaction() as db:
                before = _row(db)
                after = change(before, time.time())
                if after is not None and after != before:
                    db.execute("INSERT OR REPLACE INTO circuit VALUES ('upstream', ?, ?, ?)",
                               (after.failures, after.open_until, after.trial_until))
                return before, after or before

    @staticmethod
    def _count(db: sqlite3.Connection) -> int:
        return int(db.execute(COUNT, (time.time(),)).fetchone()[0])


def _row(db: sqlite3.Connection) -> CircuitRow:
    found = db.execute(ROW).fetchone()
    return CircuitRow(*found) if found else CircuitRow()
