"""The SQLite ledger: one file (mode 0600: it holds customer records) shared by the workers of one host.

Why these choices:
- Every change is one ``BEGIN IMMEDIATE`` transaction: a claim reads the stale
  records and marks them handed out while holding the file's write lock, so
  two workers (or threads) never hand out the same record.
- WAL with ``synchronous=FULL`` (``callnos_gateway.stores.connections``):
  entries are on disk before the answer leaves.
- A record is keyed by (task, customer): a final result names exactly that.
  An index on (task, handed_at) serves claims, one on handed_at the listing,
  one on fetched_at the expiry.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from callnos_gateway.stores.connections import SQLiteFile
from callnos_gateway.stores.ledger.base import Batch, Cursor, Entry, Expired, LedgerUnavailable, Page, TaskSummary

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_records (
    task_id        TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    batch_id       TEXT NOT NULL,     -- the batch that last handed it out (a fetch or a claim)
    client         TEXT NOT NULL,     -- the client that holds it
    fetched_at     REAL NOT NULL,
    handed_at      REAL NOT NULL,     -- last handed out
    attempts       INTEGER NOT NULL,  -- times handed out
    last_status    TEXT,              -- of the last intermediate result
    last_status_at REAL,
    record         BLOB NOT NULL,     -- the clean record's JSON
    PRIMARY KEY (task_id, customer_id)
);
CREATE INDEX IF NOT EXISTS ledger_records_task_handed ON ledger_records (task_id, handed_at, customer_id);
CREATE INDEX IF NOT EXISTS ledger_records_handed ON ledger_records (handed_at, task_id, customer_id);
CREATE INDEX IF NOT EXISTS ledger_records_fetched ON ledger_records (fetched_at);
CREATE TABLE IF NOT EXISTS ledger_batches (
    batch_id   TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    client     TEXT NOT NULL,
    batch_size INTEGER NOT NULL,
    started_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_batches_started ON ledger_batches (started_at);
"""
COLUMNS = ("task_id, customer_id, batch_id, client, fetched_at, handed_at, attempts, last_status, last_status_at,"
           " record")
BATCH_COLUMNS = "batch_id, request_id, task_id, client, batch_size, started_at"
ENTER = f"""
INSERT INTO ledger_records ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 1, NULL, NULL, ?)
ON CONFLICT (task_id, customer_id) DO UPDATE SET
    batch_id = excluded.batch_id, client = excluded.client, fetched_at = excluded.fetched_at,
    handed_at = excluded.handed_at, attempts = 1, last_status = NULL, last_status_at = NULL,
    record = excluded.record
"""


class SQLiteLedger:
    """The ledger in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = SQLiteFile(self.path, SCHEMA, file_mode=0o600)

    def begin(self, batch: Batch) -> None:
        with self._transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO ledger_batches ({BATCH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                       (batch.batch_id, batch.request_id, batch.task_id, batch.client, batch.batch_size,
                        batch.started_at))

    def settle(self, batch: Batch, records: Sequence[tuple[str, bytes]], at: float) -> None:
        rows = [(batch.task_id, customer, batch.batch_id, batch.client, at, at, record) for customer, record in records]
        with self._transaction() as db:
            db.executemany(ENTER, rows)
            db.execute("DELETE FROM ledger_batches WHERE batch_id = ?", (batch.batch_id,))

    def drop(self, batch_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM ledger_batches WHERE batch_id = ?", (batch_id,))

    def close(self, task_id: str, customer_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM ledger_records WHERE task_id = ? AND customer_id = ?",
                              (task_id, customer_id)).rowcount == 1

    def note(self, task_id: str, customer_id: str, status: str, at: float) -> bool:
        with self._transaction() as db:
            return db.execute("UPDATE ledger_records SET last_status = ?, last_status_at = ?"
                              " WHERE task_id = ? AND customer_id = ?", (status, at, task_id, customer_id)).rowcount == 1

    def page(self, tasks: frozenset[str] | None, handed_before: float, limit: int, after: Cursor | None) -> Page:
        where, args = ["handed_at <= ?"], [handed_before]
        if after is not None:
            where.append("(handed_at, task_id, customer_id) > (?, ?, ?)")
            args += after
        if tasks is not None:
            where.append(f"task_id IN ({', '.join('?' * len(tasks))})")
            args += sorted(tasks)
        query = (f"SELECT {COLUMNS} FROM ledger_records WHERE {' AND '.join(where)}"
                 " ORDER BY handed_at, task_id, customer_id LIMIT ?")
        with self._reading() as db:
            entries = [_entry(row) for row in db.execute(query, (*args, limit + 1))]
        more = len(entries) > limit
        return Page(entries[:limit], entries[limit - 1].cursor if more else None)

    def claim(self, task_id: str, handed_before: float, limit: int, batch_id: str, client: str,
              at: float) -> list[Entry]:
        with self._transaction() as db:
            keys = db.execute("SELECT customer_id FROM ledger_records WHERE task_id = ? AND handed_at <= ?"
                              " ORDER BY handed_at, customer_id LIMIT ?", (task_id, handed_before, limit)).fetchall()
            db.executemany("UPDATE ledger_records SET batch_id = ?, client = ?, handed_at = ?, attempts = attempts + 1"
                           " WHERE task_id = ? AND customer_id = ?",
                           [(batch_id, client, at, task_id, customer) for (customer,) in keys])
            rows = db.execute(f"SELECT {COLUMNS} FROM ledger_records WHERE task_id = ? AND batch_id = ?"
                              " ORDER BY customer_id", (task_id, batch_id)).fetchall()
        return [_entry(row) for row in rows]

    def unknown(self, started_before: float, tasks: frozenset[str] | None) -> list[Batch]:
        with self._reading() as db:
            rows = db.execute(f"SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE started_at <= ? ORDER BY started_at",
                              (started_before,)).fetchall()
        return [batch for batch in map(_batch, rows) if tasks is None or batch.task_id in tasks]

    def count_unknown(self, started_before: float) -> int:
        with self._reading() as db:
            return db.execute("SELECT count(*) FROM ledger_batches WHERE started_at <= ?", (started_before,)).fetchone()[0]

    def expire(self, fetched_before: float, limit: int) -> Expired:
        with self._transaction() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM ledger_records WHERE fetched_at <= ? ORDER BY fetched_at LIMIT ?",
                              (fetched_before, limit)).fetchall()
            db.executemany("DELETE FROM ledger_records WHERE task_id = ? AND customer_id = ?",
                           [(row[0], row[1]) for row in rows])
            batches = db.execute(f"SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE started_at <= ? LIMIT ?",
                                 (fetched_before, limit)).fetchall()
            db.executemany("DELETE FROM ledger_batches WHERE batch_id = ?", [(row[0],) for row in batches])
        return Expired([_entry(row) for row in rows], [_batch(row) for row in batches])

    def summary(self) -> list[TaskSummary]:
        with self._reading() as db:
            rows = db.execute("SELECT task_id, count(*), min(fetched_at) FROM ledger_records GROUP BY task_id"
                              " ORDER BY task_id").fetchall()
        return [TaskSummary(task, count, oldest) for task, count, oldest in rows]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; any SQLite failure becomes ``LedgerUnavailable``."""
        with _translated():
            with self._file.transaction() as db:
                yield db

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with _translated():
            yield self._file.connection()


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        log.error("ledger store failed: %s: %s", error.__class__.__name__, error)
        raise LedgerUnavailable(f"The ledger store failed: {error.__class__.__name__}.") from None


def _entry(row: tuple) -> Entry:
    task, customer, batch, client, fetched, handed, attempts, status, status_at, record = row
    return Entry(task, customer, batch, client, fetched, handed, attempts, status, status_at, bytes(record))


def _batch(row: tuple) -> Batch:
    return Batch(*row)
