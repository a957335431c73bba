"""Upstream auth: static and login modes, refresh, re-login, 401 re-send, one login under load."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pytest_httpserver import HTTPServer

from callnos_gateway.upstream.auth import LoginTokens
from callnos_gateway.upstream.api import LoginApi
from callnos_gateway.upstream.transport import Transport
from conftest import CALLNOS, STATIC_TOKEN, fetch, login_settings, settings_for

OK = {"result": 0, "resultData": {"taskData": []}}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("header", ["Authorization", "Authentication"])
def test_static_mode_sends_the_token_in_the_configured_header(httpserver: HTTPServer, gateway, header):
    httpserver.expect_request(CALLNOS, headers={header: f"Bearer {STATIC_TOKEN}"}).respond_with_json(OK)
    client = gateway(settings_for(httpserver.url_for("/"), auth_header=header))
    assert fetch(client).status_code == 200


def test_static_mode_refused_is_upstream_auth_failed_without_a_pointless_resend(httpserver, gateway):
    httpserver.expect_request(CALLNOS).respond_with_json({"result": "1"}, status=401)
    client = gateway(settings_for(httpserver.url_for("/")))
    response = fetch(client)
    assert (response.status_code, response.json["code"]) == (502, "upstream_auth_failed")
    assert len(httpserver.log) == 1


def test_login_mode_logs_in_on_first_need_only(sim, client):
    assert sim.stats()["login"] == 0
    for _ in range(3):
        assert fetch(client).status_code == 200
    stats = sim.stats()
    assert (stats["login"], stats["refresh"], stats["callnos"]) == (1, 0, 3)


def test_login_mode_works_with_the_authentication_header_name(gateway):
    from callnos_gateway.simulator import Simulator, SimulatorConfig

    with Simulator(SimulatorConfig(port=0, user="u", password="p", auth_header="Authentication")) as sim:
        client = gateway(login_settings(sim.url, username="u", password="p", auth_header="Authentication"))
        assert fetch(client).status_code == 200


def tokens_for(sim, clock) -> LoginTokens:
    settings = login_settings(sim.url)
    return LoginTokens(LoginApi(settings, Transport(settings)), clock=clock)


def test_refresh_happens_before_the_token_expires(sim):
    clock = FakeClock()
    tokens = tokens_for(sim, clock)
    first = tokens.current()
    clock.now += 300 - 31  # the simulator's tokens live 300 s; renewal starts 30 s before
    assert tokens.current() == first
    clock.now += 2
    second = tokens.current()
    assert second != first
    assert (sim.stats()["login"], sim.stats()["refresh"]) == (1, 1)


def test_an_expired_refresh_token_means_a_new_login(sim):
    clock = FakeClock()
    tokens = tokens_for(sim, clock)
    tokens.current()
    clock.now += 3600
    tokens.current()
    assert (sim.stats()["login"], sim.stats()["refresh"]) == (2, 0)


def test_a_refused_refresh_falls_back_to_login(sim):
    clock = FakeClock()
    tokens = tokens_for(sim, clock)
    tokens.current()
    sim.push_faults("refresh", ["status:401"])
    clock.now += 290
    tokens.current()
    assert (sim.stats()["login"], sim.stats()["refresh"]) == (2, 1)


def test_a_token_refused_once_is_renewed_and_the_request_sent_exactly_twice(sim, client):
    assert fetch(client).status_code == 200
    sim.expire_tokens()
    response = fetch(client)
    assert response.status_code == 200
    assert response.json["count"] == 5
    stats = sim.stats()
    assert stats["callnos"] == 3
    assert stats["refresh"] + stats["login"] == 2


def test_refused_twice_is_upstream_auth_failed(sim, client):
    sim.push_faults("callnos", ["status:401", "status:403"])
    response = fetch(client)
    assert (response.status_code, response.json["code"]) == (502, "upstream_auth_failed")
    assert sim.stats()["callnos"] == 2


def test_a_refused_login_is_upstream_auth_failed(sim, gateway):
    client = gateway(login_settings(sim.url, password="wrong"))
    response = fetch(client)
    assert (response.status_code, response.json["code"]) == (502, "upstream_auth_failed")
    assert sim.stats()["callnos"] == 0
    assert "wrong" not in response.get_data(as_text=True)


def test_sixteen_threads_at_a_cold_start_cause_one_login(sim, gateway):
    sim.push_faults("login", ["latency:300"])
    app_client = gateway(login_settings(sim.url))
    app = app_client.application

    def one_fetch(_):
        return fetch(app.test_client(), {"task_id": 1001, "batch_size": 1}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one_fetch, range(16)))
    assert statuses == [200] * 16
    assert sim.stats()["login"] == 1
    assert sim.stats()["callnos"] == 16


def test_threads_that_waited_on_a_failed_login_share_its_failure_instead_of_queueing_more(sim, gateway):
    """An upstream whose login is down must not make every waiting thread try (and wait) in turn."""
    sim.push_faults("login", ["timeout:3"])  # the first login hangs until the 0.5 s read timeout
    app = gateway(login_settings(sim.url, read_timeout=0.5)).application

    def one_fetch(_):
        return fetch(app.test_client(), {"task_id": 1001, "batch_size": 1}).json.get("code")

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one_fetch, range(8)))
    assert codes == ["upstream_timeout"] * 8
    assert sim.stats()["login"] == 1
