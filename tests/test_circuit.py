"""The circuit breaker: opens on unwell upstream calls, refuses without sending, one trial decides.

In-process gateways in front of the simulator; the rules of the shared row
under real concurrency are in ``test_protection_stores.py``.
"""

from __future__ import annotations

import time

import pytest

from conftest import API_KEY, FETCH, fetch, login_settings, settings_for

COOLDOWN = 0.6


@pytest.fixture
def guarded(gateway, sim):
    return gateway(login_settings(sim.url, breaker_failures=3, breaker_cooldown=COOLDOWN, read_timeout=0.3))


def metric(client, sample: str) -> float:
    """One sample's value from /metrics (in-process counters add up over tests: compare before and after)."""
    metrics = client.get("/metrics").get_data(as_text=True)
    return float(next(line for line in metrics.splitlines() if line.startswith(sample + " ")).split()[1])


def circuit_state(client) -> float:
    return metric(client, "callnos_gateway_circuit_state")


def transitions(client) -> dict[str, float]:
    return {to: metric(client, f'callnos_gateway_circuit_transitions_total{{to="{to}"}}')
            for to in ("open", "half_open", "closed")}


def test_consecutive_5xx_open_the_circuit_which_refuses_without_sending(guarded, sim):
    sim.set_run_fault("callnos", "status:503")
    assert [fetch(guarded).status_code for _ in range(3)] == [502, 502, 502]
    assert circuit_state(guarded) == 2
    sent = sim.stats()["callnos"]
    refused = fetch(guarded)
    assert refused.status_code == 503 and refused.json["code"] == "upstream_unavailable"
    assert 1 <= int(refused.headers["Retry-After"]) <= 1 + COOLDOWN
    assert "nothing was taken" in refused.json["detail"]
    assert sim.stats()["callnos"] == sent  # nothing sent while open
    assert guarded.get("/readyz").status_code == 200  # a load balancer must not drop the instance


def test_after_the_cooldown_one_good_trial_closes_it(guarded, sim):
    before = transitions(guarded)
    sim.set_run_fault("callnos", "status:500")
    for _ in range(3):
        fetch(guarded)
    sim.set_run_fault("callnos", None)
    time.sleep(COOLDOWN + 0.1)
    assert fetch(guarded).status_code == 200  # the trial
    assert circuit_state(guarded) == 0
    assert [fetch(guarded).status_code for _ in range(3)] == [200, 200, 200]
    after = transitions(guarded)
    assert {to: after[to] - before[to] for to in after} == {"open": 1, "half_open": 1, "closed": 1}


def test_a_failed_trial_opens_it_again_for_a_whole_cooldown(guarded, sim):
    sim.set_run_fault("callnos", "timeout:2")
    for _ in range(3):
        assert fetch(guarded).status_code == 504
    time.sleep(COOLDOWN + 0.1)
    sent = sim.stats()["callnos"]
    assert fetch(guarded).status_code == 504  # the trial, timed out
    assert fetch(guarded).json["code"] == "upstream_unavailable"
    assert sim.stats()["callnos"] == sent + 1


def test_unreachable_counts(gateway):
    from servers import free_port

    client = gateway(settings_for(f"http://127.0.0.1:{free_port()}", breaker_failures=2, connect_retries=0))
    assert [fetch(client).json["code"] for _ in range(3)] == [
        "upstream_unreachable", "upstream_unreachable", "upstream_unavailable"]


@pytest.mark.parametrize("fault, code", [("status:401", "upstream_auth_failed"), ("result:1", "upstream_rejected")])
def test_auth_refusals_and_rejections_leave_it_shut(guarded, sim, fault, code):
    sim.set_run_fault("callnos", fault)
    assert {fetch(guarded).json["code"] for _ in range(6)} == {code}
    assert circuit_state(guarded) == 0


def test_an_answer_resets_the_count_of_consecutive_failures(guarded, sim):
    for _ in range(3):
        sim.push_faults("callnos", ["status:502", "status:502"])
        codes = [fetch(guarded).status_code for _ in range(3)]
        assert codes == [502, 502, 200]
    assert circuit_state(guarded) == 0


def test_the_breaker_guards_every_interface(guarded, sim):
    sim.set_run_fault("tasks", "status:503")
    for _ in range(3):
        assert guarded.get("/v1/tasks", headers={"X-API-Key": API_KEY}).status_code == 502
    assert fetch(guarded, FETCH).json["code"] == "upstream_unavailable"
