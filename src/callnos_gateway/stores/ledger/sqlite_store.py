"""The SQLite ledger: one file (mode 0600: it holds customer records) shared by the workers of one host.

Why these choices:
- Every change is one ``BEGIN IMMEDIATE`` transaction: a claim reads the stale
  records and marks them handed out while holding the file's write lock, so
  two workers (or threads) never hand out the same record.
- A batch's records are stored once: back to back, zlib-compressed (records
  of one batch repeat most of their bytes), in one ``ledger_bodies`` row;
  each record has a slim key row in ``ledger_open`` naming its body and
  position, entered for the whole batch by one statement (``json_each``).
  A fetch's cost is then mostly index work, not bytes.
- ``ledger_open`` is keyed by (task, customer) without a rowid (a final result
  names exactly that), with one index, on (task, handed_at): claims use it,
  and the listing merges each task's first page from it; expiry walks the
  bodies by fetch time and finds their records by key. A body counts the records still pointing at it
  and leaves with the last one (closed, expired, or fetched again).
- WAL with ``synchronous=NORMAL``: a commit survives a crash of the process,
  the failure the ledger is kept for; a power cut may lose the last commits
  (the OS had not written them yet). One connection per OS thread, shared by
  its greenlets: no statement here yields to another greenlet.
"""

from __future__ import annotations

import functools
import contextlib
import itertools
import logging
import math
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from callnos_gateway.stores.connections import ThreadSharedSQLiteFile, failures_as
from callnos_gateway.stores.ledger.base import Batch, Cursor, Entry, Expired, Page, TaskSummary, unavailable

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_bodies (
    body_id    INTEGER PRIMARY KEY,  -- small: every key row names it
    batch_id   TEXT NOT NULL,     -- of the fetch that handed its records out
    task_id    TEXT NOT NULL,
    client     TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    open       INTEGER NOT NULL,  -- key rows still pointing at it; the body leaves at 0
    customers  TEXT NOT NULL,     -- JSON array: the customer of each position
    offsets    TEXT NOT NULL,     -- JSON array: where each record starts in ``records``, then the end
    records    BLOB NOT NULL      -- the clean records' JSON, back to back, as the client got them; zlib
);
CREATE INDEX IF NOT EXISTS ledger_bodies_fetched ON ledger_bodies (fetched_at);
CREATE TABLE IF NOT EXISTS ledger_open (
    task_id        TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    body_id        INTEGER NOT NULL,  -- the body holding its JSON, at ``position``
    position       INTEGER NOT NULL,
    handed_at      REAL NOT NULL,     -- last handed out
    batch_id       TEXT,              -- the claim that last handed it out; NULL: its fetch's
    client         TEXT,              -- the client of that claim; NULL: the fetch's
    attempts       INTEGER,           -- times handed out; NULL: once
    last_status    TEXT,              -- of the last intermediate result
    last_status_at REAL,
    PRIMARY KEY (task_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_open_task_handed ON ledger_open (task_id, handed_at);
-- A body counts the records that still point at it and leaves with the last: closed or expired here,
-- fetched again into a newer body in ``settle`` (in bulk: a trigger per row costs more than the insert).
CREATE TRIGGER IF NOT EXISTS ledger_open_gone AFTER DELETE ON ledger_open BEGIN
    UPDATE ledger_bodies SET open = open - 1 WHERE body_id = old.body_id;
    DELETE FROM ledger_bodies WHERE body_id = old.body_id AND open <= 0;
END;
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
COLUMNS = ("r.task_id, r.customer_id, coalesce(r.batch_id, b.batch_id), coalesce(r.client, b.client), b.fetched_at,"
           " r.handed_at, coalesce(r.attempts, 1), r.last_status, r.last_status_at, r.body_id, r.position")
FROM = "ledger_open r JOIN ledger_bodies b ON b.body_id = r.body_id"
BATCH_COLUMNS = "batch_id, request_id, task_id, client, batch_size, started_at"
# One statement enters every record: SQLite walks the customers array itself (json_each), instead of
# Python binding and stepping a statement per record (executemany).
ENTER = """
INSERT INTO ledger_open (task_id, customer_id, body_id, position, handed_at)
SELECT ?1, value, ?2, key, ?3 FROM json_each(?4) WHERE true
ON CONFLICT (task_id, customer_id) DO UPDATE SET
    body_id = excluded.body_id, position = excluded.position, handed_at = excluded.handed_at,
    batch_id = NULL, client = NULL, attempts = NULL, last_status = NULL, last_status_at = NULL
"""
# One task's open records handed out by ?2, after the cursor (?3, ?4, ?5), oldest first.
PAGE = f"""
SELECT {COLUMNS} FROM {FROM} WHERE r.task_id = ?1 AND r.handed_at <= ?2 AND r.handed_at >= ?3
AND (r.handed_at, r.task_id, r.customer_id) > (?3, ?4, ?5) ORDER BY r.handed_at, r.customer_id LIMIT ?6
"""
# The bodies the records of a new batch are still open in (fetched again: they move to the new body).
MOVED = ("SELECT body_id, count(*) FROM ledger_open WHERE task_id = ?1 AND customer_id IN"
         " (SELECT value FROM json_each(?2)) GROUP BY body_id")
# The records of bodies fetched before ?1 that still point at them (a record fetched again points at its newer body).
EXPIRED = f"""
SELECT {COLUMNS} FROM ledger_bodies b, json_each(b.customers) c
JOIN ledger_open r ON (r.task_id, r.customer_id, r.body_id, r.position) = (b.task_id, c.value, b.body_id, c.key)
WHERE b.fetched_at <= ?1 ORDER BY b.fetched_at, b.body_id, c.key LIMIT ?2
"""


class SQLiteLedger:
    """The ledger in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = ThreadSharedSQLiteFile(self.path, SCHEMA, file_mode=0o600, durable=False)

    def begin(self, batch: Batch) -> None:
        with self._transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO ledger_batches ({BATCH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                       (batch.batch_id, batch.request_id, batch.task_id, batch.client, batch.batch_size,
                        batch.started_at))

    def settle(self, batch: Batch, records: Sequence[tuple[str, bytes]], at: float) -> None:
        """One transaction: the body, one key row per record (a record fetched again is replaced), the batch gone."""
        with self._transaction() as db:
            if records:
                keys = [customer for customer, _ in records]
                customers = orjson.dumps(keys)
                _move_out(db, batch.task_id, customers)
                offsets = orjson.dumps([0, *itertools.accumulate(len(record) for _, record in records)])
                body = db.execute(
                    "INSERT INTO ledger_bodies (batch_id, task_id, client, fetched_at, open, customers, offsets, records)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (batch.batch_id, batch.task_id, batch.client, at, len(set(keys)), customers, offsets,
                     zlib.compress(b"".join(record for _, record in records), 1))).lastrowid
                db.execute(ENTER, (batch.task_id, body, at, customers))
            db.execute("DELETE FROM ledger_batches WHERE batch_id = ?", (batch.batch_id,))

    def drop(self, batch_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM ledger_batches WHERE batch_id = ?", (batch_id,))

    def close(self, task_id: str, customer_id: str) -> bool:
        """Forget the record (and its body with its last record: ``ledger_open_gone``)."""
        with self._transaction() as db:
            return db.execute("DELETE FROM ledger_open WHERE task_id = ? AND customer_id = ?",
                              (task_id, customer_id)).rowcount == 1

    def note(self, task_id: str, customer_id: str, status: str, at: float) -> bool:
        with self._transaction() as db:
            return db.execute("UPDATE ledger_open SET last_status = ?, last_status_at = ?"
                              " WHERE task_id = ? AND customer_id = ?", (status, at, task_id, customer_id)).rowcount == 1

    def page(self, tasks: frozenset[str] | None, handed_before: float, limit: int, after: Cursor | None) -> Page:
        """Each task's first page from its (task, handed_at) index, merged: no index over all tasks to keep up."""
        cursor = after if after is not None else (-math.inf, "", "")
        with self._reading() as db:
            names = sorted(tasks) if tasks is not None else [
                task for (task,) in db.execute("SELECT DISTINCT task_id FROM ledger_bodies")]
            rows = [row for task in names
                    for row in db.execute(PAGE, (task, handed_before, *cursor, limit + 1)).fetchall()]
            rows.sort(key=lambda row: (row[5], row[0], row[1]))  # handed_at, task, customer
            entries = _entries(db, rows[:limit + 1])
        more = len(entries) > limit
        return Page(entries[:limit], entries[limit - 1].cursor if more else None)

    def claim(self, task_id: str, handed_before: float, limit: int, batch_id: str, client: str,
              at: float) -> list[Entry]:
        with self._transaction() as db:
            keys = db.execute("SELECT customer_id FROM ledger_open WHERE task_id = ? AND handed_at <= ?"
                              " ORDER BY handed_at, customer_id LIMIT ?", (task_id, handed_before, limit)).fetchall()
            db.executemany("UPDATE ledger_open SET batch_id = ?, client = ?, handed_at = ?, attempts = coalesce(attempts, 1) + 1"
                           " WHERE task_id = ? AND customer_id = ?",
                           [(batch_id, client, at, task_id, customer) for (customer,) in keys])
            rows = db.execute(f"SELECT {COLUMNS} FROM {FROM} WHERE r.task_id = ? AND r.customer_id IN"
                              " (SELECT value FROM json_each(?)) ORDER BY r.customer_id",
                              (task_id, orjson.dumps([customer for (customer,) in keys]))).fetchall()
            return _entries(db, rows)

    def unknown(self, started_before: float, tasks: frozenset[str] | None) -> list[Batch]:
        with self._reading() as db:
            rows = db.execute(f"SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE started_at <= ? ORDER BY started_at",
                              (started_before,)).fetchall()
        return [batch for batch in map(_batch, rows) if tasks is None or batch.task_id in tasks]

    def count_unknown(self, started_before: float) -> int:
        with self._reading() as db:
            return db.execute("SELECT count(*) FROM ledger_batches WHERE started_at <= ?", (started_before,)).fetchone()[0]

    def expire(self, fetched_before: float, limit: int) -> Expired:
        """Remove records fetched before ``fetched_before`` (at most ``limit``, with their bodies) and old batches."""
        with self._transaction() as db:
            rows = db.execute(EXPIRED, (fetched_before, limit)).fetchall()
            entries = _entries(db, rows)  # before the last record of a body takes the body along
            db.executemany("DELETE FROM ledger_open WHERE task_id = ? AND customer_id = ?",
                           [(row[0], row[1]) for row in rows])
            batches = db.execute(f"SELECT {BATCH_COLUMNS} FROM ledger_batches WHERE started_at <= ? LIMIT ?",
                                 (fetched_before, limit)).fetchall()
            db.executemany("DELETE FROM ledger_batches WHERE batch_id = ?", [(row[0],) for row in batches])
        return Expired(entries, [_batch(row) for row in batches])

    def summary(self) -> list[TaskSummary]:
        with self._reading() as db:
            rows = db.execute(f"SELECT r.task_id, count(*), min(b.fetched_at) FROM {FROM} GROUP BY r.task_id"
                              " ORDER BY r.task_id").fetchall()
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


_translated = functools.partial(failures_as, unavailable)


def _move_out(db: sqlite3.Connection, task_id: str, customers: bytes) -> None:
    """Records about to be entered again leave their older bodies' counts; a body left with none goes."""
    moved = db.execute(MOVED, (task_id, customers)).fetchall()
    if moved:
        db.executemany("UPDATE ledger_bodies SET open = open - ? WHERE body_id = ?", [(n, body) for body, n in moved])
        db.execute("DELETE FROM ledger_bodies WHERE open <= 0 AND body_id IN (SELECT value FROM json_each(?))",
                   (orjson.dumps([body for body, _ in moved]),))


def _entries(db: sqlite3.Connection, rows: list[tuple]) -> list[Entry]:
    """Entries of rows ending in (body_id, position): each body read and inflated once."""
    ids = orjson.dumps(sorted({row[-2] for row in rows}))
    bodies = {body: (orjson.loads(offsets), zlib.decompress(records)) for body, offsets, records in db.execute(
        "SELECT body_id, offsets, records FROM ledger_bodies WHERE body_id IN (SELECT value FROM json_each(?))", (ids,))}
    entries = []
    for *head, body, position in rows:
        offsets, records = bodies[body]
        entries.append(Entry(*head, records[offsets[position]:offsets[position + 1]]))
    return entries


def _batch(row: tuple) -> Batch:
    return Batch(*row)
