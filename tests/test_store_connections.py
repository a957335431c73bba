"""SQLite connections shared by threads (greenlets under gevent) and processes: src/callnos_gateway/stores/connections.py.

Under the gevent worker ``threading.local`` is per greenlet, so every request
that touches a store opens a connection of its own while other connections of
the same process are open. Real files and a real second process here.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from callnos_gateway.stores.connections import SQLiteFile

SCHEMA = "CREATE TABLE IF NOT EXISTS rows (n INTEGER);"


def count_in_another_process(path: Path) -> int:
    """Open the file in a fresh process, count the rows, close (the way a worker's connection ends)."""
    code = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            "print(db.execute('SELECT count(*) FROM rows').fetchone()[0]); db.close()")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_a_second_connection_in_a_process_keeps_its_writes_visible_to_other_processes(tmp_path):
    """Opening a connection must not drop the SQLite locks the process already holds on the file.

    Closing any descriptor of a file drops every POSIX lock the process holds
    on it. If opening a connection did that, another process closing its
    connection would think it was the last one, checkpoint and delete the WAL
    while this process still writes to it: writes lost for everyone else, then
    "database disk image is malformed".
    """
    path = tmp_path / "store.sqlite3"
    shared = SQLiteFile(path, SCHEMA, file_mode=0o600)
    first = shared.connection()
    first.execute("INSERT INTO rows VALUES (1)")
    second = threading.Thread(target=lambda: shared.connection().execute("SELECT count(*) FROM rows").fetchone())
    second.start()
    second.join()
    assert count_in_another_process(path) == 1
    first.execute("INSERT INTO rows VALUES (2)")
    assert count_in_another_process(path) == 2
    assert Path(f"{path}-wal").exists()  # still this process's WAL, not deleted under it
