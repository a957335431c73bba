"""The ledger stores on real SQLite files and a real redis-server: the same behaviour from both."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from callnos_gateway.stores.ledger import Batch, LedgerUnavailable, SQLiteLedger, open_ledger

T0 = 1_700_000_000.0


def batch(batch_id: str = "b1", task: str = "1001", size: int = 3, at: float = T0) -> Batch:
    return Batch(batch_id, "req-" + batch_id, task, "dialer-east", size, at)


def records(*customers: str) -> list[tuple[str, bytes]]:
    return [(customer, b'{"customer_id": "%s"}' % customer.encode()) for customer in customers]


@pytest.fixture
def ledger(store_url):
    return open_ledger(store_url)


def test_a_batch_is_in_flight_until_settled_then_its_records_are_open(ledger):
    ledger.begin(batch())
    assert [b.batch_id for b in ledger.unknown(T0 + 1, None)] == ["b1"] and ledger.count_unknown(T0 + 1) == 1
    ledger.settle(batch(), records("c1", "c2", "c3"), T0 + 0.5)
    assert ledger.unknown(T0 + 100, None) == [] and ledger.count_unknown(T0 + 100) == 0
    page = ledger.page(None, T0 + 1, 10, None)
    assert [(e.customer_id, e.attempts, e.batch_id, e.client) for e in page.entries] == [
        ("c1", 1, "b1", "dialer-east"), ("c2", 1, "b1", "dialer-east"), ("c3", 1, "b1", "dialer-east")]
    assert page.entries[0].record == b'{"customer_id": "c1"}' and page.next is None
    assert [(s.task_id, s.open_records, s.oldest_fetched_at) for s in ledger.summary()] == [("1001", 3, T0 + 0.5)]


def test_a_final_result_closes_an_intermediate_one_notes_its_status(ledger):
    ledger.settle(batch(), records("c1", "c2"), T0)
    assert ledger.note("1001", "c1", "3", T0 + 5) is True
    assert ledger.close("1001", "c2") is True and ledger.close("1001", "c2") is False
    assert ledger.close("1001", "never-seen") is False and ledger.note("1001", "never-seen", "3", T0) is False
    (entry,) = ledger.page(None, T0 + 10, 10, None).entries
    assert (entry.customer_id, entry.last_status, entry.last_status_at) == ("c1", "3", T0 + 5)


def test_a_batch_that_took_nothing_is_dropped(ledger):
    ledger.begin(batch())
    ledger.drop("b1")
    assert ledger.unknown(T0 + 100, None) == []


def test_pages_are_oldest_first_filtered_by_task_and_age_and_cursor_complete(ledger):
    ledger.settle(batch("b1", "1001"), records(*[f"a{i:02}" for i in range(7)]), T0)
    ledger.settle(batch("b2", "1002"), records("x1", "x2"), T0 + 1)
    ledger.settle(batch("b3", "1001"), records("z1"), T0 + 50)
    seen, after = [], None
    while True:
        page = ledger.page(frozenset({"1001"}), T0 + 10, 3, after)
        seen += [e.customer_id for e in page.entries]
        if page.next is None:
            break
        after = page.next
    assert seen == [f"a{i:02}" for i in range(7)]  # z1 is too young, 1002 is another task
    everything = ledger.page(None, T0 + 100, 100, None).entries
    assert [e.customer_id for e in everything] == [*(f"a{i:02}" for i in range(7)), "x1", "x2", "z1"]
    assert [e.customer_id for e in ledger.page(frozenset({"1002", "1001"}), T0 + 100, 100, None).entries] == [
        e.customer_id for e in everything]


def test_a_claim_hands_stale_records_over_once_with_a_new_batch_and_attempts(ledger):
    ledger.settle(batch(), records("c1", "c2", "c3"), T0)
    claimed = ledger.claim("1001", T0 + 5, 2, "n1", "dialer-west", T0 + 10)
    assert [(e.customer_id, e.batch_id, e.attempts, e.client) for e in claimed] == [
        ("c1", "n1", 2, "dialer-west"), ("c2", "n1", 2, "dialer-west")]
    assert [e.customer_id for e in ledger.claim("1001", T0 + 5, 10, "n2", "d", T0 + 11)] == ["c3"]
    assert ledger.claim("1001", T0 + 11 - 5, 10, "n3", "d", T0 + 11) == []  # claimed ones are young again
    again = ledger.claim("1001", T0 + 10, 10, "n4", "d", T0 + 20)  # older_than more seconds later
    assert [(e.customer_id, e.attempts) for e in again] == [("c1", 3), ("c2", 3)]


def test_of_many_simultaneous_claims_each_record_goes_to_exactly_one(ledger):
    ledger.settle(batch(size=200), records(*[f"c{i:03}" for i in range(200)]), T0)
    got: list[list[str]] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        store = open_ledger(ledger.url if hasattr(ledger, "url") else f"sqlite:///{ledger.path}")
        mine = []
        while taken := store.claim("1001", T0 + 5, 7, name + str(len(mine)), name, T0 + 10):
            mine += [e.customer_id for e in taken]
        with lock:
            got.append(mine)

    threads = [threading.Thread(target=claimer, args=(f"t{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [customer for mine in got for customer in mine]
    assert sorted(everything) == [f"c{i:03}" for i in range(200)]  # none twice, none missed


def test_records_and_batches_older_than_the_ttl_expire_and_are_returned(ledger):
    ledger.settle(batch("old"), records("c1", "c2"), T0)
    ledger.settle(batch("new"), records("c3"), T0 + 100)
    ledger.begin(batch("lost", at=T0))
    expired = ledger.expire(T0 + 50, 100)
    assert sorted(e.customer_id for e in expired.entries) == ["c1", "c2"]
    assert [b.batch_id for b in expired.batches] == ["lost"]
    assert [e.customer_id for e in ledger.page(None, T0 + 200, 10, None).entries] == ["c3"]
    assert [(s.task_id, s.open_records) for s in ledger.summary()] == [("1001", 1)]


def test_the_sqlite_file_is_0600_and_keeps_the_books_across_a_restart(tmp_path):
    first = SQLiteLedger(tmp_path / "ledger.sqlite3")
    first.settle(batch(), records("c1"), T0)
    assert stat.S_IMODE(os.stat(tmp_path / "ledger.sqlite3").st_mode) == 0o600
    reopened = SQLiteLedger(tmp_path / "ledger.sqlite3")
    assert [e.customer_id for e in reopened.page(None, T0 + 1, 10, None).entries] == ["c1"]


def test_a_store_that_cannot_be_written_raises_ledger_unavailable(tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the directory should be")
    with pytest.raises(LedgerUnavailable):
        SQLiteLedger(blocked / "ledger.sqlite3").begin(batch())
    with pytest.raises(LedgerUnavailable):
        open_ledger("redis://127.0.0.1:1/0").begin(batch())
