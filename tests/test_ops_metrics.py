"""Metrics in one process (no PROMETHEUS_MULTIPROC_DIR): what each request adds.

The registry is the process's, shared by every test, so each test compares a
scrape before with one after.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from conftest import fetch, login_settings

CALL_DATA = "/v1/call-data"


def scrape(client) -> dict[tuple, float]:
    answer = client.get("/metrics")
    assert answer.content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True)) for sample in family.samples
    }


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples carrying ``labels`` (whatever their other labels, e.g. client)."""
    wanted = set(labels.items())
    return sum(value for (sample, have), value in samples.items() if sample == name and wanted <= set(have))


def grew(before: dict, after: dict, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_a_batch_counts_the_request_records_upstream_time_and_login(gateway, sim):
    client = gateway(login_settings(sim.url))
    before = scrape(client)
    assert [fetch(client).status_code for _ in range(2)] == [200, 200]
    after = scrape(client)
    assert grew(before, after, "callnos_gateway_requests_total", route=CALL_DATA, method="POST", status="200") == 2
    assert grew(before, after, "callnos_gateway_request_duration_seconds_count", route=CALL_DATA) == 2
    assert grew(before, after, "callnos_gateway_upstream_duration_seconds_count") == 2
    assert grew(before, after, "callnos_gateway_records_total") == 10
    assert grew(before, after, "callnos_gateway_token_events_total", event="login") == 1
    assert after[("callnos_gateway_in_flight", ())] == 1  # the scrape itself


def test_a_refresh_is_counted(gateway, sim):
    client = gateway(login_settings(sim.url))
    assert fetch(client).status_code == 200
    before = scrape(client)
    sim.expire_tokens()  # the next callnos is refused: the gateway refreshes and re-sends
    assert fetch(client).status_code == 200
    after = scrape(client)
    assert grew(before, after, "callnos_gateway_token_events_total", event="refresh") == 1


def test_upstream_errors_are_counted_by_problem_code(gateway, sim):
    client = gateway(login_settings(sim.url))
    before = scrape(client)
    assert fetch(client, **{"X-Request-ID": "sim-fault-status:503"}).status_code == 502
    assert fetch(client, **{"X-Request-ID": "sim-fault-broken_json"}).status_code == 502
    after = scrape(client)
    assert grew(before, after, "callnos_gateway_upstream_errors_total", code="upstream_error") == 1
    assert grew(before, after, "callnos_gateway_upstream_errors_total", code="upstream_bad_response") == 1
    assert grew(before, after, "callnos_gateway_upstream_duration_seconds_count") == 2  # failed exchanges timed too
    assert grew(before, after, "callnos_gateway_requests_total", route=CALL_DATA, method="POST", status="502") == 2


def test_a_timed_out_exchange_is_in_the_upstream_histogram(gateway, sim):
    client = gateway(login_settings(sim.url, read_timeout=0.3))
    assert fetch(client).status_code == 200
    before = scrape(client)
    sim.push_faults("callnos", ["timeout:2"])
    assert fetch(client).status_code == 504
    after = scrape(client)
    assert grew(before, after, "callnos_gateway_upstream_duration_seconds_count") == 1
    assert grew(before, after, "callnos_gateway_upstream_duration_seconds_sum") >= 0.3


def test_route_labels_stay_bounded(gateway, sim):
    client = gateway(login_settings(sim.url))
    before = scrape(client)
    for path in ("/no/such/1", "/no/such/2", "/v1/call-data/extra"):
        assert client.get(path).status_code == 404
    assert client.open("/healthz", method="BREW").status_code == 405
    after = scrape(client)
    assert grew(before, after, "callnos_gateway_requests_total", route="unmatched", method="GET", status="404") == 3
    assert grew(before, after, "callnos_gateway_requests_total", route="unmatched", method="other", status="405") == 1
    assert not [key for key in after if any(v.startswith("/no/such") for _, v in key[1])]


def test_a_client_error_is_not_an_upstream_error(gateway, sim):
    client = gateway(login_settings(sim.url))
    before = scrape(client)
    assert fetch(client, **{"X-API-Key": "wrong"}).status_code == 401
    after = scrape(client)
    assert grew(before, after, "callnos_gateway_requests_total", route=CALL_DATA, method="POST", status="401") == 1
    assert sum(grew(before, after, name, **dict(labels)) for name, labels in after
               if name == "callnos_gateway_upstream_errors_total") == 0
