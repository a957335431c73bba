"""Per-client quotas in one process: what passes, what is refused, and the RateLimit fields.

The process-wide sharing (2 workers, 2 instances on Redis) is in
``test_quotas_processes.py``; here the counting rules and the answers.
"""

from __future__ import annotations

import hashlib
import json

import http_sfv
import pytest

from callnos_gateway.errors import ConfigError
from callnos_gateway.settings import load_settings
from callnos_gateway.settings.clients import parse_clients
from conftest import FETCH, login_settings

KEYS = {"east": "east-key-5b1d9e", "west": "west-key-0c7a2f"}


def client_entry(name: str, **quotas: str) -> dict:
    entry = {"name": name, "key_sha256": hashlib.sha256(KEYS[name].encode()).hexdigest(), "tasks": ["*"]}
    return {**entry, **quotas}


def quota_gateway(gateway, sim, east: dict | None = None, **overrides):
    clients = parse_clients({"client": [client_entry("east", **(east or {})), client_entry("west")]})
    return gateway(login_settings(sim.url, api_keys=(), clients=clients, **overrides))


def call(client, name: str, body: dict = FETCH):
    return client.post("/v1/call-data", json=body, headers={"X-API-Key": KEYS[name]})


def parsed(header: str) -> list[tuple[str, dict]]:
    """A structured-field List of String items with parameters, as the draft defines both fields."""
    field = http_sfv.List()
    field.parse(header.encode())
    return [(item.value, dict(item.params)) for item in field]


def test_exactly_the_requests_quota_passes_and_the_refused_send_nothing(gateway, sim):
    client = quota_gateway(gateway, sim, east={"requests": "3/minute"})
    answers = [call(client, "east") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert sim.stats()["callnos"] == 3
    refused = answers[-1]
    assert refused.json["code"] == "quota_exceeded" and refused.json["quota"] == "requests"
    assert refused.mimetype == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_other_clients_are_not_counted_against_a_spent_quota(gateway, sim):
    client = quota_gateway(gateway, sim, east={"requests": "1/minute"}, quota_requests="2/minute")
    assert [call(client, "east").status_code for _ in range(2)] == [200, 429]
    assert [call(client, "west").status_code for _ in range(3)] == [200, 200, 429]  # the default applies to west


def test_the_records_quota_counts_batch_sizes_and_a_refusal_costs_nothing(gateway, sim):
    client = quota_gateway(gateway, sim, east={"records": "10/hour"})
    assert call(client, "east", {"task_id": 1001, "batch_size": 6}).status_code == 200
    too_many = call(client, "east", {"task_id": 1001, "batch_size": 5})
    assert too_many.status_code == 429 and too_many.json["quota"] == "records"
    assert call(client, "east", {"task_id": 1001, "batch_size": 4}).status_code == 200  # the refusal took nothing
    assert sim.stats()["records_taken"] == 10
    assert parsed(too_many.headers["RateLimit"]) == [("records", {"r": 4, "t": pytest.approx(3600, abs=5)})]


def test_a_refused_request_does_not_spend_the_other_quota(gateway, sim):
    client = quota_gateway(gateway, sim, east={"requests": "5/minute", "records": "3/hour"})
    assert call(client, "east", {"task_id": 1001, "batch_size": 3}).status_code == 200
    refused = call(client, "east", {"task_id": 1001, "batch_size": 1})
    assert refused.status_code == 429
    state = dict(parsed(refused.headers["RateLimit"]))
    assert state["requests"]["r"] == 4 and state["records"]["r"] == 0


def test_every_answer_under_a_quota_carries_the_fields_as_structured_fields(gateway, sim):
    client = quota_gateway(gateway, sim, east={"requests": "600/minute", "records": "20000/hour"})
    answer = call(client, "east")
    assert parsed(answer.headers["RateLimit-Policy"]) == [
        ("requests", {"q": 600, "w": 60}), ("records", {"q": 20000, "qu": "records", "w": 3600}),
    ]
    state = dict(parsed(answer.headers["RateLimit"]))
    assert state["requests"]["r"] == 599 and state["records"]["r"] == 20000 - FETCH["batch_size"]
    assert 0 < state["requests"]["t"] <= 60
    invalid = call(client, "east", {"task_id": 1001, "batch_size": "many"})
    assert invalid.status_code == 400 and dict(parsed(invalid.headers["RateLimit"]))["requests"]["r"] == 598
    tasks = client.get("/v1/tasks", headers={"X-API-Key": KEYS["east"]})
    assert [name for name, _ in parsed(tasks.headers["RateLimit-Policy"])] == ["requests"]  # costs no records


def test_no_quota_no_fields(gateway, sim):
    client = quota_gateway(gateway, sim)
    answers = [call(client, "east") for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert all("RateLimit" not in a.headers and "RateLimit-Policy" not in a.headers for a in answers)


def test_refusals_are_counted_by_client_and_quota(gateway, sim):
    client = quota_gateway(gateway, sim, east={"requests": "1/minute"})
    call(client, "east"), call(client, "east")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'callnos_gateway_quota_refusals_total{client="east",quota="requests"}' in metrics


@pytest.mark.parametrize("field, text", [("requests", "lots"), ("records", "10/fortnight"), ("requests", 5),
                                         ("requests", "0/minute"), ("records", "1/second;2/minute"),
                                         ("records", ["600/minute"])])
def test_a_quota_that_cannot_be_read_names_the_client_and_the_field(field, text):
    with pytest.raises(ConfigError) as caught:
        parse_clients({"client": [client_entry("east", **{field: text})]})
    line = caught.value.one_line()
    assert "\n" not in line and "(east)" in line and f"{field} " in line


def test_the_default_quotas_are_settings_checked_at_start(monkeypatch):
    monkeypatch.setenv("CALLNOS_UPSTREAM_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CALLNOS_AUTH_MODE", "static")
    monkeypatch.setenv("CALLNOS_TOKEN", "t")
    monkeypatch.setenv("CALLNOS_ALLOW_ANONYMOUS", "true")
    monkeypatch.setenv("CALLNOS_QUOTA_REQUESTS", "600/minute")
    monkeypatch.setenv("CALLNOS_QUOTA_RECORDS", "20000 per hour")
    assert (load_settings().quota_requests, load_settings().quota_records) == ("600/minute", "20000 per hour")
    monkeypatch.setenv("CALLNOS_QUOTA_RECORDS", "plenty")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "CALLNOS_QUOTA_RECORDS" in caught.value.one_line()


def test_check_config_shows_the_protection_settings_and_each_clients_quotas(tmp_path):
    from test_check_config import LOCAL_ENV, check_config

    result = check_config({"CALLNOS_ENV_FILE": LOCAL_ENV, "CALLNOS_QUOTA_REQUESTS": "600/minute",
                           "CALLNOS_UPSTREAM_CONCURRENCY": "4"})
    settings = json.loads(result.stdout)["settings"]
    assert (settings["quota_requests"], settings["quota_records"]) == ("600/minute", None)
    assert (settings["upstream_concurrency"], settings["upstream_queue_timeout"]) == (4, 2.0)
    assert (settings["breaker_failures"], settings["breaker_cooldown"]) == (5, 10.0)
    assert settings["quota_url"] == "sqlite:///var/quotas.sqlite3"
    assert settings["client_quotas"] == {"local-east": {"requests": "30/minute", "records": "2000/hour"}}
    bad = tmp_path / "clients.toml"
    bad.write_text('[[client]]\nname = "east"\nkey_sha256 = "' + "ab" * 32 + '"\ntasks = ["*"]\nrecords = "many"\n')
    result = check_config({"CALLNOS_ENV_FILE": LOCAL_ENV, "CALLNOS_CLIENTS_FILE": str(bad)})
    [line] = result.stderr.strip().splitlines()
    assert result.returncode == 3 and "client #1 (east): records 'many'" in line
