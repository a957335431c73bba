"""The ledger through the API (docs/API.md, "The ledger"), in front of the real simulator."""

from __future__ import annotations

import logging
import os
import time

import pytest
from flask.testing import FlaskClient

from callnos_gateway.api import ledger_books
from callnos_gateway.api.ledger_metrics import CLAIMS, EXPIRED, REDELIVERIES, WRITE_FAILURES
from callnos_gateway.settings.clients import Client, key_digest
from conftest import API_KEY, fetch, login_settings
from outbound import problem_of, write

OTHER_KEY = "other-key-77a0"


def settings(sim, tmp_path, **overrides):
    return login_settings(sim.url, **{"ledger_url": f"sqlite:///{tmp_path}/ledger.sqlite3", **overrides})


def outstanding(client: FlaskClient, key: str = API_KEY, **query):
    return client.get("/v1/outstanding", query_string=query, headers={"X-API-Key": key})


def claim(client: FlaskClient, body: dict, key: str = API_KEY, **headers):
    return client.post("/v1/outstanding/claim", json=body, headers={"X-API-Key": key, **headers})


def result_of(record: dict, status: str = "0") -> dict:
    return {"task_id": record["task_id"], "customer_id": record["customer_id"], "status": status}


def test_records_handed_out_are_open_until_a_final_result_closes_them(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path))
    taken = fetch(client, {"task_id": 1001, "batch_size": 3}).json
    listed = outstanding(client).json
    assert [r["customer_id"] for r in listed["records"]] == [r["customer_id"] for r in taken["records"]]
    first = listed["records"][0]
    assert (first["batch_id"], first["attempts"], first["task_id"]) == (taken["batch_id"], 1, "1001")
    assert first["record"] == taken["records"][0] and listed["unknown_batches"] == []
    assert write(client, result_of(taken["records"][0], "7"), final=False).status_code == 200
    noted = outstanding(client).json["records"][0]
    assert noted["last_status"] == "7" and noted["last_status_at"]
    for record in taken["records"]:
        assert write(client, result_of(record)).status_code == 200
    assert outstanding(client).json == {"count": 0, "records": [], "next_cursor": None, "unknown_batches": []}


def test_a_result_for_a_record_the_ledger_never_saw_is_still_sent_upstream(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path))
    answer = write(client, {"task_id": "1001", "customer_id": "C-never-fetched", "status": "0"})
    assert sim.stats()["result"] == 1  # sent; the simulator, which never handed it out, refuses it
    assert problem_of(answer)["code"].startswith("upstream_")


def test_a_claim_hands_stale_records_to_one_caller_marked_redelivered(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path))
    taken = fetch(client, {"task_id": 1001, "batch_size": 4}).json
    calls_before = sim.stats()["callnos"]
    assert claim(client, {"task_id": 1001, "older_than": 600, "limit": 10}).json["count"] == 0  # all young
    claims_before, redeliveries_before = CLAIMS._value.get(), REDELIVERIES._value.get()
    got = claim(client, {"task_id": 1001, "older_than": 0, "limit": 3})
    body = got.json
    assert got.status_code == 200 and got.headers["X-Batch-ID"] == body["batch_id"] != taken["batch_id"]
    assert body["task_id"] == 1001 and body["count"] == 3
    assert all(r["redelivered"] is True and r["attempts"] == 2 for r in body["records"])
    assert [r["customer_id"] for r in body["records"]] == [r["customer_id"] for r in taken["records"][:3]]
    rest = claim(client, {"task_id": "1001", "older_than": 0.5, "limit": 10}).json
    assert [r["customer_id"] for r in rest["records"]] in ([], [taken["records"][3]["customer_id"]])
    assert sim.stats()["callnos"] == calls_before  # nothing sent upstream
    assert CLAIMS._value.get() >= claims_before + 1 and REDELIVERIES._value.get() >= redeliveries_before + 3


def test_a_claim_with_an_idempotency_key_replays_the_same_records(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path, idempotency_url=f"sqlite:///{tmp_path}/idem.sqlite3"))
    fetch(client, {"task_id": 1001, "batch_size": 2})
    body = {"task_id": 1001, "older_than": 0, "limit": 5}
    first = claim(client, body, **{"Idempotency-Key": "recover-1"})
    again = claim(client, body, **{"Idempotency-Key": "recover-1"})
    assert first.json["count"] == 2 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert claim(client, {**body, "limit": 4}, **{"Idempotency-Key": "recover-1"}).status_code == 422


def test_the_listing_pages_with_a_cursor_and_filters_by_task_and_age(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path))
    taken = [r["customer_id"] for r in fetch(client, {"task_id": 1001, "batch_size": 5}).json["records"]]
    fetch(client, {"task_id": 1002, "batch_size": 2})
    seen, cursor = [], None
    while True:
        page = outstanding(client, task_id="1001", limit=2, **({"cursor": cursor} if cursor else {})).json
        seen += [r["customer_id"] for r in page["records"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == taken
    assert outstanding(client).json["count"] == 7
    assert outstanding(client, older_than=3600).json["count"] == 0
    assert problem_of(outstanding(client, cursor="bm90IGEgY3Vyc29y")).get("errors", {}).keys() == {"cursor"}
    assert outstanding(client, limit=0).status_code == 400


def test_scope_refusals_are_403_and_read_nothing(sim, gateway, tmp_path, monkeypatch):
    narrow = Client(name="narrow", digest=key_digest(OTHER_KEY), tasks=frozenset({"1002"}),
                    allow=frozenset({"call-data", "results"}))
    tasks_only = Client(name="east", digest=key_digest(API_KEY), tasks=frozenset({"1001"}))
    client = gateway(settings(sim, tmp_path, api_keys=(), clients=(narrow, tasks_only)))
    fetch(client, {"task_id": 1001, "batch_size": 2})
    reads = []
    monkeypatch.setattr(client.application.extensions["callnos"].ledger.store, "page",
                        lambda *args: reads.append(args))
    refused = outstanding(client, key=OTHER_KEY)
    assert refused.status_code == 403 and problem_of(refused)["missing_scope"] == "outstanding"
    assert claim(client, {"task_id": 1001, "older_than": 0, "limit": 1}, key=OTHER_KEY).status_code == 403
    other_task = outstanding(client, task_id="1002")
    assert other_task.status_code == 403 and problem_of(other_task)["missing_scope"] == "tasks"
    assert claim(client, {"task_id": 1002, "older_than": 0, "limit": 1}).status_code == 403
    assert reads == []


def test_a_client_sees_only_its_tasks(sim, gateway, tmp_path):
    east = Client(name="east", digest=key_digest(API_KEY), tasks=frozenset({"1001"}))
    west = Client(name="west", digest=key_digest(OTHER_KEY), tasks=frozenset({"1002"}))
    client = gateway(settings(sim, tmp_path, api_keys=(), clients=(east, west)))
    fetch(client, {"task_id": 1001, "batch_size": 2})
    assert outstanding(client).json["count"] == 2
    assert outstanding(client, key=OTHER_KEY).json["count"] == 0


def test_a_store_down_before_the_fetch_is_503_and_nothing_is_taken(sim, gateway, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    client = gateway(settings(sim, tmp_path, ledger_url=f"sqlite:///{blocked}/ledger.sqlite3"))
    answer = fetch(client)
    assert answer.status_code == 503 and problem_of(answer)["code"] == "ledger_unavailable"
    assert sim.stats()["callnos"] == 0 and sim.stats()["records_taken"] == 0


def test_a_write_that_fails_after_the_records_were_taken_is_logged_counted_and_answered(
        sim, gateway, tmp_path, monkeypatch, caplog):
    client = gateway(settings(sim, tmp_path))
    store = client.application.extensions["callnos"].ledger.store

    def broken(*args):
        raise ledger_books.LedgerUnavailable("The ledger store failed: OperationalError.")

    monkeypatch.setattr(store, "settle", broken)
    failures = WRITE_FAILURES._value.get()
    with caplog.at_level(logging.ERROR, logger="callnos.ledger"):
        answer = fetch(client, {"task_id": 1001, "batch_size": 2})
    assert answer.status_code == 200 and answer.json["count"] == 2
    (line,) = [r for r in caplog.records if r.name == "callnos.ledger" and r.levelno == logging.ERROR]
    assert line.batch_id == answer.json["batch_id"]
    assert line.customers == [r["customer_id"] for r in answer.json["records"]]
    assert WRITE_FAILURES._value.get() == failures + 1


def test_a_batch_whose_outcome_is_unknown_is_listed_with_its_request_id(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path, read_timeout=0.3, total_timeout=0.3))
    sim.push_faults("callnos", ["latency:1000"])
    lost = fetch(client, {"task_id": 1001, "batch_size": 3}, **{"X-Request-ID": "req-lost-1"})
    assert lost.status_code == 504
    time.sleep(0.4)
    (batch,) = outstanding(client).json["unknown_batches"]
    assert (batch["request_id"], batch["batch_size"], batch["task_id"]) == ("req-lost-1", 3, "1001")
    assert batch["batch_id"] == problem_of(lost)["batch_id"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "callnos_gateway_ledger_unknown_batches 1.0" in metrics


def test_a_refused_callnos_leaves_no_batch_of_unknown_outcome(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path, total_timeout=1.0))
    sim.push_faults("callnos", ["status:500"])
    assert fetch(client).status_code == 502
    time.sleep(1.1)
    assert outstanding(client).json["unknown_batches"] == []


def test_records_past_the_ttl_leave_with_a_warning_each_and_a_count(sim, gateway, tmp_path, caplog, monkeypatch):
    client = gateway(settings(sim, tmp_path, ledger_ttl=1))
    taken = fetch(client, {"task_id": 1001, "batch_size": 3}).json
    books = client.application.extensions["callnos"].ledger
    monkeypatch.setattr(books, "clock", lambda: time.time() + 5)
    books._next_sweep = 0.0
    expired = EXPIRED._value.get()
    with caplog.at_level(logging.WARNING, logger="callnos.ledger"):
        assert outstanding(client).json["count"] == 0
    lines = [r for r in caplog.records if "expired" in r.getMessage()]
    assert sorted(r.getMessage().rsplit(" ", 1)[1] for r in lines) == sorted(r["customer_id"] for r in taken["records"])
    assert all(r.levelno == logging.WARNING and r.batch_id == taken["batch_id"] for r in lines)
    assert EXPIRED._value.get() == expired + 3


def test_the_gauges_are_read_from_the_store_at_scrape_time(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path))
    fetch(client, {"task_id": 1001, "batch_size": 4})
    fetch(client, {"task_id": 1002, "batch_size": 1})
    other = gateway(settings(sim, tmp_path))  # another worker or instance on the same ledger
    text = other.get("/metrics").get_data(as_text=True)
    assert 'callnos_gateway_ledger_open_records{task="1001"} 4.0' in text
    assert 'callnos_gateway_ledger_open_records{task="1002"} 1.0' in text
    assert 'callnos_gateway_ledger_oldest_open_seconds{task="1001"}' in text


def test_the_ledger_off_enters_nothing_and_its_routes_say_so(sim, gateway, tmp_path):
    client = gateway(settings(sim, tmp_path, ledger=False))
    assert fetch(client).status_code == 200
    answer = outstanding(client)
    assert answer.status_code == 503 and problem_of(answer)["code"] == "ledger_unavailable"
    assert not os.path.exists(tmp_path / "ledger.sqlite3")
    assert "callnos_gateway_ledger_open_records" not in client.get("/metrics").get_data(as_text=True)
