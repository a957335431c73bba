"""Connections to the shared stores (a SQLite file, a Redis server), safe across threads and forks.

Why one module: the idempotency store and the token store both keep state
that every worker of a host (SQLite) or every instance (Redis) must see, and
both must open nothing before gunicorn forks, never share a connection
across a fork, and give each thread its own SQLite connection. Each store
keeps its own schema and keys; ``failures_as`` is the one place a SQLite,
file or Redis failure becomes a store's own "unavailable" error.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import redis
from redis.backoff import ExponentialBackoff
from redis.commands.core import Script
from redis.retry import Retry

from callnos_gateway.settings.store_urls import SQLITE_PREFIX, shared_store_problem


BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")
STORE_FAILURES = (sqlite3.Error, OSError, redis.RedisError)


@contextlib.contextmanager
def failures_as(unavailable: Callable[[BaseException], Exception]) -> Iterator[None]:
    """Raise ``unavailable(error)`` for any store failure inside the block: the stores' one translation."""
    try:
        yield
    except STORE_FAILURES as error:
        raise unavailable(error) from None


def by_url(url: str, sqlite: Callable[[str], T], redis_store: Callable[[str], T]) -> T:
    """The store a checked shared-store URL names: ``sqlite(path)`` or ``redis_store(url)``, opening nothing yet."""
    problem = shared_store_problem(url)
    if problem:
        raise ValueError(problem)
    if url.startswith(SQLITE_PREFIX):
        return sqlite(url[len(SQLITE_PREFIX):])
    return redis_store(url)


class SQLiteFile:
    """One SQLite file in WAL mode: a connection per thread and per process, opened on first use.

    ``file_mode`` (e.g. ``0o600``) creates the file with that mode before SQLite
    opens it; SQLite gives its ``-wal`` and ``-shm`` files the same mode.
    ``durable=False`` skips the fsync of each commit (WAL with ``synchronous =
    NORMAL``): for state that may lose its last writes to a power cut, such as
    quota counts and upstream slot leases, and is written on every request.
    Under the gevent worker "per thread" is per greenlet: a connection per
    request, opened while others of the process are open (see ``_prepare``).
    """

    def __init__(self, path: str | Path, schema: str, file_mode: int | None = None, durable: bool = True) -> None:
        self.path = Path(path)
        self.schema = schema
        self.file_mode = file_mode
        self.synchronous = "FULL" if durable else "NORMAL"  # NORMAL: no fsync per commit (counters, leases)
        self._local = threading.local()
        self._pid = os.getpid()
        self._prepared_in: int | None = None  # the pid that made the directory and the file
        self._prepare_lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection in this process (raises sqlite3.Error or OSError)."""
        if self._pid != os.getpid():  # forked after first use: never share a parent's connection
            self._local, self._pid = threading.local(), os.getpid()
        db = getattr(self._local, "db", None)
        if db is None:
            self._prepare()
            db = self._local.db = self._connect()
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the file's write lock from its first statement."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _prepare(self) -> None:
        """Make the directory and the file with its mode, once per process, before its first connection.

        Once per process, and under a lock, because closing any descriptor of
        the file drops every POSIX lock this process holds on it, SQLite's
        included: another process closing its connection would then take
        itself for the last one and checkpoint and delete the WAL while this
        process still writes to it (writes lost, then "database disk image is
        malformed").
        """
        with self._prepare_lock:
            if self._prepared_in == os.getpid():
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.file_mode is not None:
                _create_with_mode(self.path, self.file_mode)
            self._prepared_in = os.getpid()

    def _connect(self) -> sqlite3.Connection:
        """Open the file in WAL mode with durable commits."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _switch_to_wal(db)
        db.execute(f"PRAGMA synchronous = {self.synchronous}")
        db.executescript(self.schema)
        return db


class ThreadSharedSQLiteFile(SQLiteFile):
    """A ``SQLiteFile`` whose connection is shared by every greenlet of one OS thread.

    For stores touched on every request (quota counts, upstream slot leases):
    a connection per greenlet is one opened and closed per request (~150 us,
    twice). Sharing is safe because their code never yields to another
    greenlet inside a transaction: plain sqlite3 calls, no I/O in between.
    Real threads still get a connection each (keyed by the OS thread id).
    """

    def __init__(self, path: str | Path, schema: str, file_mode: int | None = None, durable: bool = True) -> None:
        super().__init__(path, schema, file_mode, durable)
        self._by_thread: dict[int, sqlite3.Connection] = {}

    def connection(self) -> sqlite3.Connection:
        """This OS thread's connection in this process (raises sqlite3.Error or OSError)."""
        if self._pid != os.getpid():  # forked after first use: never share a parent's connection
            self._by_thread, self._pid = {}, os.getpid()
        thread = threading.get_native_id()
        db = self._by_thread.get(thread)
        if db is None:
            self._prepare()
            db = self._by_thread[thread] = self._connect()
        return db


def _create_with_mode(path: Path, mode: int) -> None:
    """Create ``path`` with ``mode`` if it is missing, and narrow the mode of an existing file.

    An existing file is changed by its path, never opened: closing a
    descriptor of it would drop this process's SQLite locks on it.
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
    except FileExistsError:
        if os.stat(path).st_mode & 0o777 & ~mode:
            os.chmod(path, mode)


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """Set WAL mode, waiting out other connections doing the same.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers
    "database is locked" at once instead of waiting ``busy_timeout`` for it;
    workers that start together would fail their first request.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class ProcessRedis:
    """A Redis client per process with its Lua scripts, built on first use (after gunicorn's fork)."""

    def __init__(self, url: str, scripts: dict[str, str], connect_timeout: float, socket_timeout: float,
                 retries: int) -> None:
        self.url = url
        self._sources = scripts
        self._timeouts = (connect_timeout, socket_timeout)
        self._retries = retries
        self._client: redis.Redis | None = None
        self._scripts: dict[str, Script] = {}
        self._pid = os.getpid()

    def client(self) -> redis.Redis:
        """This process's client (no I/O until its first command)."""
        if self._client is None or self._pid != os.getpid():
            connect_timeout, socket_timeout = self._timeouts
            client = redis.Redis.from_url(
                self.url, socket_connect_timeout=connect_timeout, socket_timeout=socket_timeout,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), self._retries),
            )
            self._scripts = {name: client.register_script(source) for name, source in self._sources.items()}
            self._client, self._pid = client, os.getpid()
        return self._client

    def script(self, name: str) -> Script:
        """One of the registered scripts, bound to this process's client."""
        self.client()
        return self._scripts[name]
