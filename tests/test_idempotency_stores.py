"""The idempotency stores on their own: one contract, both stores; then what is SQLite's.

The store contract is tested below the web layer too, because the races it
must win (two claims at once, a claim whose lease ran out, a holder that
lost its claim) are hard to time through HTTP.
"""

from __future__ import annotations

import stat

import sqlite3
import threading
import time

import pytest

from callnos_gateway.settings import load_settings
from callnos_gateway.errors import ConfigError
from callnos_gateway.stores.idempotency.sqlite_store import SWEEP_LIMIT
from callnos_gateway.stores.idempotency import (
    Claimed, InFlight, Mismatch, Replay, SQLiteStore, StoredAnswer, fingerprint, open_store, scoped_key,
)

FP, OTHER_FP = fingerprint({"task_id": 1, "batch_size": 5}), fingerprint({"task_id": 1, "batch_size": 6})
ANSWER = StoredAnswer(batch_id="b" * 32, body=b'{"a":1}\n\x00\xff F D \n')  # any bytes come back unchanged


@pytest.fixture
def store(store_url):
    return open_store(store_url)


def test_a_claim_then_its_answer_then_a_replay(store):
    claim = store.claim("c:k", FP, lease=30)
    assert isinstance(claim, Claimed)
    assert store.claim("c:k", FP, lease=30) == InFlight()
    assert store.claim("c:k", OTHER_FP, lease=30) == Mismatch()
    assert store.complete("c:k", claim.token, ANSWER, ttl=60) is True
    assert store.claim("c:k", FP, lease=30) == Replay(ANSWER)
    assert store.claim("c:k", OTHER_FP, lease=30) == Mismatch()


def test_only_the_holder_can_complete_or_release(store):
    claim = store.claim("c:k", FP, lease=30)
    assert store.complete("c:k", "not-the-token", ANSWER, ttl=60) is False
    store.release("c:k", "not-the-token")
    assert store.claim("c:k", FP, lease=30) == InFlight()
    store.release("c:k", claim.token)
    assert isinstance(store.claim("c:k", FP, lease=30), Claimed)


def test_a_lapsed_claim_frees_the_key_and_its_holder_cannot_store(store):
    stale = store.claim("c:k", FP, lease=0.2)
    time.sleep(0.3)
    fresh = store.claim("c:k", FP, lease=30)
    assert isinstance(fresh, Claimed) and fresh.token != stale.token
    assert store.complete("c:k", stale.token, ANSWER, ttl=60) is False
    assert store.complete("c:k", fresh.token, ANSWER, ttl=60) is True


def test_of_many_simultaneous_claims_exactly_one_wins(store):
    barrier, outcomes = threading.Barrier(16), []
    def claim():
        barrier.wait()
        outcomes.append(store.claim("c:race", FP, lease=30))
    threads = [threading.Thread(target=claim) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sum(isinstance(o, Claimed) for o in outcomes) == 1
    assert outcomes.count(InFlight()) == 15


def test_the_fingerprint_ignores_order_and_sees_every_value():
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint({"a": 1, "b": 2}) != fingerprint({"a": 1, "b": 3})
    assert len(FP) == 64


def test_a_scope_cannot_be_forged_through_the_client_id():
    assert scoped_key("3f9a1c0e6b7d", "k:1") == "3f9a1c0e6b7d:k:1"
    with pytest.raises(ValueError):
        scoped_key("a:b", "k")


def test_sqlite_opens_nothing_until_used_then_keeps_durable_wal(tmp_path):
    path = tmp_path / "deep" / "dir" / "idem.sqlite3"
    store = open_store(f"sqlite:///{path}")
    assert not path.parent.exists()
    store.claim("c:k", FP, lease=30)
    db = store._connection()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # stored answers hold customer records


def test_sqlite_removes_expired_rows_on_claims_a_few_at_a_time(tmp_path):
    path = tmp_path / "idem.sqlite3"
    store = SQLiteStore(path)
    for index in range(40):
        store.complete(f"c:{index}", store.claim(f"c:{index}", FP, lease=30).token, ANSWER, ttl=1)
    time.sleep(1.1)
    store.claim("c:new", FP, lease=30)
    assert _rows(path) == 40 - SWEEP_LIMIT + 1
    assert isinstance(store.claim("c:3", FP, lease=30), Claimed)  # its own expired answer is not replayed
    assert _rows(path) <= 40 - 2 * SWEEP_LIMIT + 2  # c:3 went with the sweep or on its own


@pytest.mark.parametrize("url, accepted", [
    ("sqlite:///var/idem.sqlite3", True),
    ("sqlite:////srv/idem.sqlite3", True),
    ("redis://127.0.0.1:6379/0", True),
    ("rediss://cache.internal:6380/1", True),
    ("sqlite:///", False),
    ("sqlite:///:memory:", False),
    ("postgres://db/x", False),
    ("var/idem.sqlite3", False),
])
def test_the_store_url_is_checked_at_start_naming_the_setting(monkeypatch, url, accepted):
    for name, value in {"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_AUTH_MODE": "static",
                        "CALLNOS_TOKEN": "t", "CALLNOS_API_KEYS": "k", "CALLNOS_IDEMPOTENCY_URL": url}.items():
        monkeypatch.setenv(name, value)
    if accepted:
        assert load_settings().idempotency_url == url
    else:
        with pytest.raises(ConfigError, match="CALLNOS_IDEMPOTENCY_URL"):
            load_settings()


def _rows(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM idempotency_entries").fetchone()[0]
