"""Probes: liveness touches nothing, readiness may log in, and neither ever calls callnos."""

from __future__ import annotations

from conftest import SIM_PASSWORD, login_settings, settings_for

CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port


def test_liveness_touches_no_upstream(gateway):
    client = gateway(login_settings(CLOSED))
    for path in ("/healthz", "/livez"):
        answer = client.get(path)
        assert (answer.status_code, answer.json) == (200, {"status": "ok"})
        assert answer.headers["X-Request-ID"]


def test_static_mode_is_ready_without_calling_anything(gateway):
    answer = gateway(settings_for(CLOSED)).get("/readyz")
    assert (answer.status_code, answer.json) == (200, {"status": "ready"})


def test_login_mode_is_ready_once_a_token_is_had_and_takes_no_records(gateway, sim):
    client = gateway(login_settings(sim.url))
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
    stats = sim.stats()
    assert (stats["login"], stats["callnos"]) == (1, 0)  # the token is kept; callnos never called


def test_a_refused_login_is_a_503_problem_with_the_reason(gateway, sim):
    answer = gateway(login_settings(sim.url, password="not-" + SIM_PASSWORD)).get("/readyz")
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert (answer.json["code"], answer.json["reason"]) == ("not_ready", "upstream_auth_failed")
    assert "refused the login" in answer.json["detail"]
    assert SIM_PASSWORD not in answer.get_data(as_text=True)
    assert sim.stats()["callnos"] == 0


def test_an_unreachable_upstream_is_a_503_problem_with_the_reason(gateway):
    answer = gateway(login_settings(CLOSED)).get("/readyz")
    assert (answer.status_code, answer.json["reason"]) == (503, "upstream_unreachable")


def test_probes_need_no_key(gateway):
    client = gateway(settings_for(CLOSED))
    assert [client.get(path).status_code for path in ("/healthz", "/readyz", "/metrics")] == [200, 200, 200]
