"""Idempotency-Key on POST /v1/call-data (CONTRACT section 7), run on both stores.

Every test that touches a store runs twice, on SQLite and on Redis
(``store_url``, tests/plugins/redis_notice.py), against the simulator.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from conftest import API_KEY, FETCH, fetch, login_settings
from servers import free_port

OTHER_KEY = "other-key-5d2e7b"
SPELLED_OUT = {**FETCH, "call_center_id": 1, "vcc_id": 1}


@pytest.fixture
def client(sim, gateway, store_url):
    """A gateway on the simulator whose idempotency store is ``store_url``."""
    return gateway(login_settings(sim.url, idempotency_url=store_url, api_keys=(API_KEY, OTHER_KEY)))


def keyed(client, key, body=None, api_key=API_KEY):
    """POST /v1/call-data with an Idempotency-Key."""
    return fetch(client, body, **{"Idempotency-Key": key, "X-API-Key": api_key})


def store_is_empty(store_url: str) -> bool:
    """Tell whether nothing was ever written to the store."""
    if store_url.startswith("redis://"):
        return redis.Redis.from_url(store_url).dbsize() == 0
    return not Path(store_url.removeprefix("sqlite:///")).exists()


def test_a_retry_gets_the_stored_answer_byte_for_byte_without_an_upstream_call(sim, client):
    first = keyed(client, "order-1")
    again = keyed(client, "order-1")
    assert first.status_code == again.status_code == 200
    assert again.data == first.data
    assert again.headers["X-Batch-ID"] == first.headers["X-Batch-ID"] == first.json["batch_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert sim.stats()["callnos"] == 1 and sim.stats()["records_out"] == FETCH["batch_size"]


def test_default_ids_spelled_out_are_the_same_request(sim, client):
    first = keyed(client, "order-2")
    again = keyed(client, "order-2", SPELLED_OUT)
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == first.data
    assert sim.stats()["callnos"] == 1


def test_the_same_key_in_flight_is_409_and_the_first_answer_replays_after(sim, client):
    sim.push_faults("callnos", ["latency:700"])
    answers = {}
    first = threading.Thread(target=lambda: answers.update(first=keyed(client.application.test_client(), "slow")))
    first.start()
    _wait_until(lambda: sim.stats()["callnos"] == 1)
    in_flight = keyed(client, "slow")
    first.join(timeout=10)
    assert in_flight.status_code == 409
    assert in_flight.headers["Retry-After"] == "1"
    assert in_flight.mimetype == "application/problem+json" and in_flight.json["code"] == "request_in_progress"
    assert answers["first"].status_code == 200
    assert keyed(client, "slow").data == answers["first"].data
    assert sim.stats()["callnos"] == 1


def test_the_same_key_with_another_body_is_422_and_takes_nothing(sim, client):
    keyed(client, "order-3")
    other = keyed(client, "order-3", {"task_id": 1001, "batch_size": 6})
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert sim.stats()["callnos"] == 1


def test_keys_are_scoped_to_the_inbound_api_key(sim, client):
    mine = keyed(client, "shared-key")
    theirs = keyed(client, "shared-key", api_key=OTHER_KEY)
    assert mine.status_code == theirs.status_code == 200
    assert mine.json["batch_id"] != theirs.json["batch_id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert keyed(client, "shared-key", api_key=OTHER_KEY).data == theirs.data
    assert keyed(client, "shared-key").data == mine.data
    assert sim.stats()["callnos"] == 2


def test_an_expired_entry_is_forgotten(sim, gateway, store_url):
    client = gateway(login_settings(sim.url, idempotency_url=store_url, idempotency_ttl=1))
    first = keyed(client, "short-lived")
    time.sleep(1.2)
    later = keyed(client, "short-lived")
    assert later.status_code == 200 and "Idempotent-Replayed" not in later.headers
    assert later.json["batch_id"] != first.json["batch_id"]
    assert sim.stats()["callnos"] == 2


@pytest.mark.parametrize("fault, status", [("status:500", 502), ("result:1", 502)])
def test_a_failed_attempt_frees_the_key(sim, client, fault, status):
    sim.push_faults("callnos", [fault])
    failed = keyed(client, "retry-me")
    assert failed.status_code == status
    retried = keyed(client, "retry-me")
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert sim.stats()["callnos"] == 2
    assert keyed(client, "retry-me").data == retried.data


def test_an_invalid_body_takes_no_key(sim, client):
    invalid = keyed(client, "order-4", {"task_id": "x", "batch_size": 5})
    assert invalid.status_code == 400
    assert keyed(client, "order-4").status_code == 200
    assert sim.stats()["callnos"] == 1


def test_without_a_key_nothing_changes_and_the_store_is_untouched(sim, client, store_url):
    first, second = fetch(client), fetch(client)
    assert first.status_code == second.status_code == 200
    assert first.json["batch_id"] != second.json["batch_id"]
    assert "Idempotent-Replayed" not in second.headers
    assert sim.stats()["callnos"] == 2
    assert store_is_empty(store_url)


@pytest.mark.parametrize("key, problem", [
    ("", "must not be empty"),
    ("k" * 256, "must be at most 255 characters"),
    ("a\x01b", "must be printable ASCII"),
    ("tab\there", "must be printable ASCII"),
    ("caf\u00e9", "must be printable ASCII"),
])
def test_an_invalid_key_is_400_naming_the_header(sim, gateway, key, problem):
    answer = keyed(gateway(login_settings(sim.url)), key)
    assert answer.status_code == 400 and answer.json["code"] == "invalid_request"
    assert answer.json["errors"] == {"Idempotency-Key": [problem]}
    assert sim.stats()["callnos"] == 0


def test_a_key_of_255_printable_characters_is_accepted(sim, gateway, tmp_path):
    client = gateway(login_settings(sim.url, idempotency_url=f"sqlite:///{tmp_path}/i.sqlite3"))
    key = ("~ !" * 85)[:255]
    assert keyed(client, key).status_code == 200
    assert keyed(client, key).headers["Idempotent-Replayed"] == "true"


def test_an_unreachable_store_is_503_and_takes_nothing(sim, gateway):
    client = gateway(login_settings(sim.url, idempotency_url=f"redis://127.0.0.1:{free_port()}/0"))
    answer = keyed(client, "order-5")
    assert answer.status_code == 503 and answer.json["code"] == "idempotency_store_unavailable"
    assert sim.stats()["callnos"] == 0
    assert fetch(client).status_code == 200


def test_the_openapi_document_describes_the_header(sim, gateway):
    operation = gateway(login_settings(sim.url)).get("/openapi.json").json["paths"]["/v1/call-data"]["post"]
    assert {"in": "header", "name": "Idempotency-Key"}.items() <= operation["parameters"][0].items()
    assert {"409", "422"} <= set(operation["responses"])
    assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
