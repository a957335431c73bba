"""CALLNOS_PROXY_URL: upstream calls through a forward proxy, credentials never logged.

A real forward proxy on loopback (tests/forward_proxy.py) relays plain HTTP to
the simulator and tunnels (CONNECT) to a TLS upstream whose certificate a
trustme CA signed; its own log shows what the gateway sent through it.
"""

from __future__ import annotations

import base64
import logging
import ssl

import pytest
import requests
import trustme
from pytest_httpserver import HTTPServer

from callnos_gateway.settings import load_settings
from callnos_gateway.errors import ConfigError
from conftest import API_KEY, CALLNOS, LOGIN, SIM_PASSWORD, SIM_USER, fetch, login_settings, settings_for
from forward_proxy import ForwardProxy
from servers import free_port, gunicorn_process, json_lines

OK = {"result": 0, "resultData": {"taskData": [{"serviceId": "1", "uniqueId": "C-1"}]}}
PROXY_USER, PROXY_PASSWORD = "relay-user", "pr0xy-s3cret/%41"  # '/' and an escape: quoted in the URL
PROXY_BASIC = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
ENV_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def with_credentials(proxy_url: str, password: str = PROXY_PASSWORD) -> str:
    quoted = requests.utils.quote(password, safe="")
    return proxy_url.replace("http://", f"http://{PROXY_USER}:{quoted}@")


@pytest.fixture
def proxy():
    with ForwardProxy((PROXY_USER, PROXY_PASSWORD)) as running:
        yield running


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory):
    """An HTTPS upstream signed by a CA of the test's own, and that CA's bundle file."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yield server, str(bundle)
    server.clear()
    server.stop()


def test_a_plain_http_upstream_is_reached_through_the_proxy(sim, gateway, proxy, caplog):
    caplog.set_level(logging.DEBUG)
    response = fetch(gateway(login_settings(sim.url, proxy_url=with_credentials(proxy.url))))
    assert response.status_code == 200 and response.json["count"] == 5
    assert proxy.log == [f"POST {sim.url}{LOGIN} auth=ok -> 200", f"POST {sim.url}{CALLNOS} auth=ok -> 200"]
    assert sim.stats()["callnos"] == 1
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert PROXY_PASSWORD not in logged and PROXY_BASIC not in logged


def test_an_https_upstream_is_tunnelled_and_its_certificate_still_verified(gateway, proxy, tls_upstream):
    server, bundle = tls_upstream
    server.clear()
    server.expect_request(CALLNOS).respond_with_json(OK)
    client = gateway(settings_for(server.url_for("/"), proxy_url=with_credentials(proxy.url), ca_bundle=bundle))
    assert fetch(client).status_code == 200
    assert proxy.log == [f"CONNECT 127.0.0.1:{server.port} auth=ok -> 200"]
    assert len(server.log) == 1, "the upstream itself answered, through the tunnel"


def test_through_the_proxy_an_unknown_certificate_is_still_refused(gateway, proxy, tls_upstream):
    server, _ = tls_upstream
    server.clear()
    server.expect_request(CALLNOS).respond_with_json(OK)
    response = fetch(gateway(settings_for(server.url_for("/"), proxy_url=with_credentials(proxy.url))))
    assert (response.status_code, response.json["code"]) == (502, "upstream_unreachable")
    assert "TLS" in response.json["detail"]
    assert proxy.log == [f"CONNECT 127.0.0.1:{server.port} auth=ok -> 200"], "a refused certificate is not retried"
    assert server.log == []


@pytest.mark.parametrize("upstream", ["http", "https"])
def test_a_wrong_proxy_address_is_upstream_unreachable_and_nothing_is_sent(sim, gateway, tls_upstream, upstream):
    server, bundle = tls_upstream
    server.clear()
    url = sim.url if upstream == "http" else server.url_for("/")
    nowhere = with_credentials(f"http://127.0.0.1:{free_port()}")
    response = fetch(gateway(settings_for(url, proxy_url=nowhere, ca_bundle=bundle)))
    assert (response.status_code, response.json["code"]) == (502, "upstream_unreachable")
    assert "proxy" in response.json["detail"] and PROXY_PASSWORD not in response.get_data(as_text=True)
    assert sim.stats()["callnos"] == 0 and server.log == []


def test_wrong_proxy_credentials_are_refused_by_the_proxy_and_named(gateway, proxy, tls_upstream):
    server, bundle = tls_upstream
    server.clear()
    wrong = with_credentials(proxy.url, password="not-the-proxy-password")
    response = fetch(gateway(settings_for(server.url_for("/"), proxy_url=wrong, ca_bundle=bundle)))
    assert (response.status_code, response.json["code"]) == (502, "upstream_unreachable")
    assert "HTTP 407" in response.json["detail"]
    assert proxy.log == [f"CONNECT 127.0.0.1:{server.port} auth=refused -> 407"], "a 407 is not retried"
    assert server.log == []


def test_an_upstream_the_proxy_cannot_reach_is_unreachable_and_retried_like_one(gateway, proxy, tls_upstream):
    _, bundle = tls_upstream
    down = f"127.0.0.1:{free_port()}"
    response = fetch(gateway(settings_for(f"https://{down}", proxy_url=with_credentials(proxy.url), ca_bundle=bundle)))
    assert (response.status_code, response.json["code"]) == (502, "upstream_unreachable")
    assert "HTTP 502" in response.json["detail"]
    assert proxy.log == [f"CONNECT {down} auth=ok -> 502"] * 3, "nothing was sent: retried as a refused connection"


def test_environment_proxy_variables_are_ignored(sim, gateway, proxy, monkeypatch):
    for name in ENV_PROXY_VARIABLES:
        monkeypatch.setenv(name, with_credentials(proxy.url))
    assert fetch(gateway(login_settings(sim.url))).status_code == 200
    assert proxy.log == [], "HTTP_PROXY and friends must not redirect upstream calls"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    assert fetch(gateway(login_settings(sim.url, proxy_url=with_credentials(proxy.url)))).status_code == 200
    assert len(proxy.log) == 2, "NO_PROXY must not bypass CALLNOS_PROXY_URL"


def test_under_gunicorn_the_proxy_credentials_appear_in_no_log_line(sim, proxy, tmp_path):
    env = {
        "CALLNOS_UPSTREAM_URL": sim.url, "CALLNOS_USERNAME": SIM_USER, "CALLNOS_PASSWORD": SIM_PASSWORD,
        "CALLNOS_API_KEYS": API_KEY, "CALLNOS_SUB_CC_NO": "1", "CALLNOS_VDN_ID": "1",
        "CALLNOS_PROXY_URL": with_credentials(proxy.url), "CALLNOS_LOG_LEVEL": "DEBUG",
    }
    with gunicorn_process(tmp_path, env, workers=1, threads=2) as running:
        headers = {"X-API-Key": API_KEY}
        ok = requests.post(running.url + "/v1/call-data", json={"task_id": 1, "batch_size": 2}, headers=headers, timeout=10)
        assert ok.status_code == 200
        proxy.credentials = (PROXY_USER, "changed-on-the-proxy")  # now the proxy refuses the gateway
        refused = requests.post(running.url + "/v1/call-data", json={"task_id": 1, "batch_size": 2},
                                headers=headers, timeout=10)
        assert refused.status_code == 502 and refused.json()["upstream_status"] == 407
    log = running.log()
    start = next(line for line in json_lines(log) if line["message"] == "callnos-gateway starting")
    assert start["settings"]["proxy_url"] == f"http://{PROXY_USER}:***@127.0.0.1:{proxy.server_address[1]}"
    quoted = requests.utils.quote(PROXY_PASSWORD, safe="")
    for secret in (PROXY_PASSWORD, quoted, PROXY_BASIC):
        assert secret not in log
    assert f"POST {sim.url}{CALLNOS} auth=ok -> 200" in proxy.log
    assert f"POST {sim.url}{CALLNOS} auth=refused -> 407" in proxy.log


@pytest.mark.parametrize("value", [
    "socks5://u:pw-9z1x@127.0.0.1:1080", "https://u:pw-9z1x@proxy.example:3128", "http://u:pw-9z1x@:3128",
    "http://u:pw-9z1x@proxy.example:99999", "http://u:pw-9z1x@proxy.example:3128/path", "proxy.example:3128",
])
def test_a_bad_proxy_url_stops_the_start_naming_it_without_its_password(monkeypatch, value):
    for name, setting in {"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_AUTH_MODE": "static",
                          "CALLNOS_TOKEN": "t0ken-x", "CALLNOS_API_KEYS": "k", "CALLNOS_PROXY_URL": value}.items():
        monkeypatch.setenv(name, setting)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert list(caught.value.problems) == ["CALLNOS_PROXY_URL"]
    assert "pw-9z1x" not in caught.value.one_line()


def test_an_empty_proxy_url_means_no_proxy(monkeypatch):
    for name, setting in {"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_AUTH_MODE": "static",
                          "CALLNOS_TOKEN": "t0ken-x", "CALLNOS_API_KEYS": "k", "CALLNOS_PROXY_URL": ""}.items():
        monkeypatch.setenv(name, setting)
    settings = load_settings()
    assert settings.proxy_url is None and settings.proxies == {}
