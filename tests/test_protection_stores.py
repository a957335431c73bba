"""The shared stores of upstream protection and quotas, on SQLite and a real Redis, under concurrency.

Slots must never exceed the cap however many threads ask, and a holder that
died frees its slot when the lease ends; one trial call only, however many
callers find the cooldown over; quota counts lose no increment.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from callnos_gateway.settings.quotas import read_quota
from callnos_gateway.stores.protection import CircuitRow, open_protection_store
from callnos_gateway.stores.quotas import QuotaCounter
from callnos_gateway.upstream.protection.circuit import Circuit, Ticket
from callnos_gateway.upstream.protection.events import ProtectionEvents
from callnos_gateway.errors import UpstreamUnavailable


@pytest.fixture
def store(store_url):
    return open_protection_store(store_url)


def test_slots_never_exceed_the_cap(store):
    held, most, lock = set(), [0], threading.Lock()

    def hold(number: int) -> bool:
        holder = f"h{number}"
        if not store.take_slot(holder, 3, 30):
            return False
        with lock:
            held.add(holder)
            most[0] = max(most[0], len(held))
        time.sleep(0.01)
        with lock:
            held.discard(holder)
        store.give_slot(holder)
        return True

    with ThreadPoolExecutor(12) as pool:
        taken = sum(pool.map(hold, range(120)))
    assert most[0] <= 3 and taken >= 3
    assert store.slots_in_use() == 0


def test_a_dead_holders_slot_frees_itself_when_its_lease_ends(store):
    assert store.take_slot("crashed", 1, 0.3)
    assert not store.take_slot("next", 1, 30)
    time.sleep(0.4)
    assert store.take_slot("next", 1, 30)
    assert store.slots_in_use() == 1


def test_one_trial_however_many_callers_find_the_cooldown_over(store):
    store.change_circuit(lambda row, now: CircuitRow(5, now - 1, None))  # open, cooldown over
    circuit = Circuit(store, failures=5, cooldown=10, trial_lease=30, events=ProtectionEvents())

    def admit(_: int) -> bool:
        try:
            return circuit.admit().trial
        except UpstreamUnavailable:
            return False

    with ThreadPoolExecutor(16) as pool:
        trials = sum(pool.map(admit, range(64)))
    assert trials == 1
    circuit.settle(Ticket(trial=True, clean=False), "answered")
    assert store.circuit() == CircuitRow()


def test_a_trial_whose_caller_died_is_given_up_when_its_lease_ends(store):
    store.change_circuit(lambda row, now: CircuitRow(5, now - 1, now + 0.3))
    circuit = Circuit(store, failures=5, cooldown=10, trial_lease=30, events=ProtectionEvents())
    with pytest.raises(UpstreamUnavailable):
        circuit.admit()
    time.sleep(0.4)
    assert circuit.admit().trial


def test_quota_counts_lose_no_increment(store_url):
    counter, rule = QuotaCounter(store_url), read_quota("50/minute")
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: counter.take("east", [("requests", rule, 1)])[0], range(80)))
    assert sum(not state.exceeded for state in results) == 50
    assert all(0 <= state.remaining < 50 for state in results)  # read after the hit: others may have hit since
    assert counter.take("east", [("requests", rule, 1)])[0].remaining == 0


def test_counters_and_leases_skip_the_fsync_of_each_commit_that_answers_keep(tmp_path):
    from callnos_gateway.stores.connections import SQLiteFile
    from callnos_gateway.stores.protection.sqlite_store import SQLiteProtection
    from callnos_gateway.stores.quotas.sqlite_storage import SQLiteStorage

    normal, full = 1, 2  # PRAGMA synchronous values
    quota = SQLiteStorage(f"sqlite:///{tmp_path}/q.sqlite3").file.connection()
    slots = SQLiteProtection(str(tmp_path / "p.sqlite3")).file.connection()
    kept = SQLiteFile(tmp_path / "answers.sqlite3", "").connection()
    assert [db.execute("PRAGMA synchronous").fetchone()[0] for db in (quota, slots, kept)] == [normal, normal, full]


def test_greenlets_of_a_thread_share_one_connection_real_threads_do_not(tmp_path):
    import subprocess
    import sys

    from callnos_gateway.stores.connections import ThreadSharedSQLiteFile

    script = f"""
from gevent import monkey; monkey.patch_all()
import gevent
from callnos_gateway.stores.connections import ThreadSharedSQLiteFile
file = ThreadSharedSQLiteFile({str(tmp_path / "g.sqlite3")!r}, "")
greenlets = [gevent.spawn(lambda: id(file.connection())) for _ in range(5)]
gevent.joinall(greenlets)
print(len({{g.value for g in greenlets}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["1"], out.stderr
    file = ThreadSharedSQLiteFile(tmp_path / "t.sqlite3", "")
    with ThreadPoolExecutor(2) as pool:
        connections = list(pool.map(lambda _: (threading.get_native_id(), id(file.connection())), range(20)))
    by_thread = dict(connections)
    assert len(by_thread) == len(set(connections)) == len(set(by_thread.values()))  # one per OS thread, each its own
