"""The SQLite ledger keeps each batch's records once, in a body that leaves with its last open record."""

from __future__ import annotations

import sqlite3

from callnos_gateway.stores.ledger import Batch, SQLiteLedger

T0 = 1_700_000_000.0


def bodies(path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT batch_id, open FROM ledger_bodies ORDER BY body_id").fetchall()


def records(*customers: str) -> list[tuple[str, bytes]]:
    return [(customer, b'{"customer_id": "%s", "n": 1}' % customer.encode()) for customer in customers]


def test_a_body_leaves_with_its_last_record_closed_or_fetched_again(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    ledger = SQLiteLedger(path)
    ledger.settle(Batch("b1", "r1", "1001", "east", 3, T0), records("c1", "c2", "c3"), T0)
    ledger.settle(Batch("b2", "r2", "1001", "east", 3, T0), records("c3", "c4", "c4"), T0 + 1)  # c3 again, c4 twice
    assert bodies(path) == [("b1", 2), ("b2", 2)]
    assert ledger.close("1001", "c1") and bodies(path) == [("b1", 1), ("b2", 2)]
    assert ledger.close("1001", "c2") and bodies(path) == [("b2", 2)]
    (c3, c4) = ledger.page(None, T0 + 10, 10, None).entries
    assert (c3.batch_id, c3.fetched_at, c3.record) == ("b2", T0 + 1, b'{"customer_id": "c3", "n": 1}')
    assert c4.record == b'{"customer_id": "c4", "n": 1}'
    expired = ledger.expire(T0 + 5, 100)
    assert sorted(e.customer_id for e in expired.entries) == ["c3", "c4"] and bodies(path) == []
