"""The upstream's base URL: a path prefix, a trailing slash, and verified TLS (CONTRACT 2)."""

from __future__ import annotations

import ssl

import pytest
import trustme
from pytest_httpserver import HTTPServer

from conftest import CALLNOS, fetch, login_settings, settings_for
from callnos_gateway.simulator import Simulator, SimulatorConfig

OK = {"result": 0, "resultData": {"taskData": [{"serviceId": "1", "uniqueId": "C-1"}]}}


@pytest.mark.parametrize("suffix", ["", "/"])
def test_a_base_url_with_a_path_prefix_and_a_trailing_slash(gateway, suffix):
    config = SimulatorConfig(port=0, user="gateway", password="s3cret-pa55word", prefix="/aicc/gw")
    with Simulator(config) as sim:
        assert sim.url.endswith("/aicc/gw")
        response = fetch(gateway(login_settings(sim.url + suffix)))
        assert response.status_code == 200
        assert sim.stats()["callnos"] == 1


@pytest.fixture(scope="module")
def tls_upstream():
    """An HTTPS upstream whose certificate is signed by a CA of the test's own."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server, ca
    server.clear()
    server.stop()


def test_tls_is_verified_against_the_configured_ca_bundle(gateway, tls_upstream, tmp_path):
    server, ca = tls_upstream
    server.expect_request(CALLNOS).respond_with_json(OK)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    client = gateway(settings_for(server.url_for("/"), ca_bundle=str(bundle)))
    assert server.url_for("/").startswith("https://")
    assert fetch(client).status_code == 200


def test_an_unknown_certificate_is_refused_and_nothing_is_sent(gateway, tls_upstream, caplog):
    server, _ = tls_upstream
    server.clear()
    server.expect_request(CALLNOS).respond_with_json(OK)
    with caplog.at_level("WARNING", logger="callnos_gateway.upstream.transport"):
        response = fetch(gateway(settings_for(server.url_for("/"))))
    assert not [r for r in caplog.records if "retrying" in r.getMessage()], "a refused certificate is not retried"
    assert (response.status_code, response.json["code"]) == (502, "upstream_unreachable")
    assert "TLS" in response.json["detail"]
    assert server.log == []
