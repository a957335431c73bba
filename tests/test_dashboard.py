"""The Grafana dashboard and the alert rules against a real Prometheus scraping a real gateway under traffic.

Every panel query, with its variables filled in from the variables' own
queries, must return data, except the panels listed in ``PENDING``: their
metrics come from parts not yet in this tree, and the test checks that they
are indeed missing from /metrics, so the day they appear the panel must move
to ``CHECKED`` and be checked too. No panel is in neither list.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
import yaml

from bench import dashboard

# Panels expected to return data from the metrics the gateway exposes today.
CHECKED = (
    "Requests by route",
    "Requests by client",
    "Error answers by route and status",
    "Request latency by route",
    "Upstream latency",
    "In flight and records handed out",
    "Upstream errors by code",
    "Token logins and refreshes",
    "Circuit state",
    "Upstream slots and busy refusals",
    "Quota refusals by client",
    "Open records by task",
    "Oldest open record by task",
    "Ledger flow",
)
# Panels whose metrics a gateway of this tree does not expose: none (a panel waiting for a metric goes here).
PENDING: tuple[str, ...] = ()
# Every metric the dashboard and the alerts may name, all of them exposed by the gateway.
AGREED = {
    "requests_total", "request_duration_seconds", "upstream_duration_seconds", "records_total",
    "token_events_total", "token_store_errors_total", "upstream_errors_total", "in_flight",
    "ledger_open_records", "ledger_oldest_open_seconds", "ledger_unknown_batches", "ledger_claims_total",
    "ledger_redeliveries_total", "ledger_expired_total", "ledger_write_failures_total", "quota_refusals_total",
    "upstream_slots_in_use", "upstream_slot_wait_seconds", "upstream_busy_total", "circuit_state",
    "circuit_transitions_total"}
METRIC = re.compile(r"callnos_gateway_(\w+?)(?:_bucket|_count|_sum)?\b")
RATE_INTERVAL = "30s"  # Grafana's $__rate_interval for a 1 s scrape, rounded up generously


def metrics_of(text: str) -> set[str]:
    return set(METRIC.findall(text))


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """A gateway under ~10 s of mixed traffic (with a spell of upstream 500s), scraped every second."""
    with dashboard.watched_gateway(tmp_path_factory.mktemp("watch")) as (sim, gateway, prom):
        prom.wait_for_scrapes(2)
        sent = dashboard.drive(gateway, sim, seconds=10, max_requests=3000)
        assert sent > 50
        time.sleep(3)  # two more scrapes and rule evaluations
        yield gateway, prom


def test_every_panel_is_either_checked_or_pending():
    titles = [panel.title for panel in dashboard.panels()]
    assert sorted(titles) == sorted(CHECKED + PENDING) and len(set(titles)) == len(titles)


def test_the_dashboard_and_alerts_name_only_agreed_metrics():
    named = metrics_of(dashboard.DASHBOARD.read_text()) | metrics_of(dashboard.ALERTS.read_text())
    assert named - AGREED == set()
    assert {"upstream_errors_total", "circuit_state", "quota_refusals_total", "token_store_errors_total",
            "ledger_oldest_open_seconds", "requests_total"} <= metrics_of(dashboard.ALERTS.read_text())


def test_every_checked_panel_returns_data_with_its_variables_filled_in(watched):
    gateway, prom = watched
    values = {}
    for name, query in dashboard.variables().items():
        match = re.fullmatch(r"label_values\((\w+), (\w+)\)", query)
        offered = prom.label_values(match.group(2), match.group(1))
        assert offered, f"variable {name} offers nothing"
        values[name] = offered
    assert {"dialer-east", "dialer-west"} <= set(values["client"]) and "/v1/call-data" in values["route"]
    chosen = {"client": "dialer-east", "route": "/v1/call-data"}
    empty = []
    for panel in dashboard.panels():
        if panel.title in CHECKED:
            for expr, _ in panel.targets:
                for filled in (dashboard.fill(expr, chosen, RATE_INTERVAL), dashboard.fill(
                        expr, {name: ".*" for name in chosen}, RATE_INTERVAL)):
                    if not prom.query(filled):
                        empty.append((panel.title, filled))
    assert empty == []


def test_pending_panels_wait_for_metrics_the_gateway_does_not_expose_yet(watched):
    gateway, _ = watched
    exposed = metrics_of(requests.get(gateway.url + "/metrics", timeout=10).text)
    assert AGREED <= exposed
    for panel in dashboard.panels():
        named = metrics_of(" ".join(expr for expr, _ in panel.targets))
        if panel.title in PENDING:
            assert named - exposed, f"{panel.title}: its metrics are exposed now: move it to CHECKED"
        else:
            assert named <= exposed, panel.title


def test_prometheus_loads_every_alert_rule_and_evaluates_it_without_error(watched):
    _, prom = watched
    rules = [rule for group in prom.rules() for rule in group["rules"]]
    declared = [rule["alert"] for group in yaml.safe_load(dashboard.ALERTS.read_text())["groups"]
                for rule in group["rules"]]
    assert sorted(rule["name"] for rule in rules) == sorted(declared)
    assert [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"] == []
    by_name = {rule["name"]: rule for rule in rules}
    assert by_name["CallnosUpstreamErrors"]["state"] in ("pending", "firing")  # the run's spell of 500s
    assert by_name["CallnosNoBatchFetched"]["state"] == "inactive"
