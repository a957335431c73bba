"""Inbound requests: validation rules, keys, size limit, request ids (CONTRACT 1, 3, 4)."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from conftest import API_KEY, CALLNOS, STATIC_TOKEN, fetch, settings_for

OK = {"result": 0, "resultData": {"taskData": [{"seviceId": "1001", "uiqueId": "C-1"}]}}


@pytest.fixture
def upstream(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request(CALLNOS, method="POST").respond_with_json(OK)
    return httpserver


@pytest.fixture
def client(upstream: HTTPServer, gateway):
    return gateway(settings_for(upstream.url_for("/")))


def sent_bodies(upstream: HTTPServer) -> list[dict]:
    return [request.get_json() for request, _ in upstream.log]


def test_a_valid_request_maps_fields_and_defaults_to_the_upstream_names(client, upstream):
    response = fetch(client, {"task_id": 1001, "batch_size": 5})
    assert response.status_code == 200
    assert sent_bodies(upstream) == [{"subCCNo": 1, "vdnId": 1, "serviceId": 1001, "batchCount": 5}]


def test_explicit_ids_override_the_defaults(client, upstream):
    fetch(client, {"task_id": 0, "batch_size": 1, "call_center_id": 7, "vcc_id": 8})
    assert sent_bodies(upstream) == [{"subCCNo": 7, "vdnId": 8, "serviceId": 0, "batchCount": 1}]


@pytest.mark.parametrize("body, bad_fields", [
    ({"batch_size": 5}, {"task_id"}),
    ({"task_id": 1}, {"batch_size"}),
    ({}, {"task_id", "batch_size"}),
    ({"task_id": 1, "batch_size": 5, "priority": 1}, {"priority"}),
    ({"task_id": True, "batch_size": 5}, {"task_id"}),
    ({"task_id": 1, "batch_size": False}, {"batch_size"}),
    ({"task_id": 1.0, "batch_size": 5}, {"task_id"}),
    ({"task_id": 1, "batch_size": 2.5}, {"batch_size"}),
    ({"task_id": "1001", "batch_size": 5}, {"task_id"}),
    ({"task_id": None, "batch_size": 5}, {"task_id"}),
    ({"task_id": [1], "batch_size": {"n": 5}}, {"task_id", "batch_size"}),
    ({"task_id": -1, "batch_size": 5}, {"task_id"}),
    ({"task_id": 2**31, "batch_size": 5}, {"task_id"}),
    ({"task_id": 1, "batch_size": 0}, {"batch_size"}),
    ({"task_id": 1, "batch_size": 501}, {"batch_size"}),
    ({"task_id": 1, "batch_size": 5, "call_center_id": "1"}, {"call_center_id"}),
    ({"task_id": 1, "batch_size": 5, "vcc_id": -3}, {"vcc_id"}),
])
def test_each_invalid_field_is_named_and_nothing_is_sent(client, upstream, body, bad_fields):
    response = fetch(client, body)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "invalid_request"
    assert set(response.json["errors"]) == bad_fields
    assert upstream.log == []


def test_missing_ids_without_configured_defaults_are_a_400(upstream, gateway):
    client = gateway(settings_for(upstream.url_for("/"), sub_cc_no=None, vdn_id=None))
    response = fetch(client, {"task_id": 1, "batch_size": 5})
    assert response.status_code == 400
    assert set(response.json["errors"]) == {"call_center_id", "vcc_id"}
    assert upstream.log == []


@pytest.mark.parametrize("data, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"text"', "application/json"),
    (b"", "application/json"),
    (b'{"task_id": 1, "batch_size": 5}', "text/plain"),
    (b"task_id=1&batch_size=5", "application/x-www-form-urlencoded"),
    (b'{"task_id": 1, "batch_size": 5}', None),
    (b"\xff\xfe{}", "application/json"),
    (b"[" * 5000 + b"]" * 5000, "application/json"),
    (b'{"task_id": 1' + b"0" * 400 + b', "batch_size": 5}', "application/json"),
    (b'{"task_id": NaN, "batch_size": 5}', "application/json"),
])
def test_bodies_that_are_not_a_json_object_are_a_400(client, upstream, data, content_type):
    headers = {"X-API-Key": API_KEY, **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/v1/call-data", data=data, headers=headers)
    assert response.status_code == 400
    assert response.json["code"] == "invalid_request"
    assert "Traceback" not in response.get_data(as_text=True)
    assert upstream.log == []


def test_a_body_over_the_limit_is_a_413(client, upstream):
    body = b'{"task_id": 1, "batch_size": 5, "pad": "' + b"x" * 70_000 + b'"}'
    response = client.post("/v1/call-data", data=body,
                           headers={"X-API-Key": API_KEY, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json["code"] == "payload_too_large"
    assert upstream.log == []


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""},
                                     {"Authorization": f"Bearer {API_KEY}"}])
def test_a_missing_or_wrong_key_is_a_401(client, upstream, headers):
    response = client.post("/v1/call-data", json={"task_id": 1, "batch_size": 5}, headers=headers)
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")
    assert upstream.log == []


def test_one_of_several_keys_is_enough(upstream, gateway):
    client = gateway(settings_for(upstream.url_for("/"), api_keys=("first", "second")))
    assert fetch(client, **{"X-API-Key": "second"}).status_code == 200
    assert fetch(client, **{"X-API-Key": "third"}).status_code == 401


def test_anonymous_mode_needs_no_key(upstream, gateway):
    client = gateway(settings_for(upstream.url_for("/"), api_keys=(), allow_anonymous=True))
    assert client.post("/v1/call-data", json={"task_id": 1, "batch_size": 1}).status_code == 200


def test_probes_and_docs_need_no_key(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/livez").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_get_is_405_and_unknown_paths_404(client, upstream):
    assert client.get("/v1/call-data", headers={"X-API-Key": API_KEY}).json["code"] == "method_not_allowed"
    assert client.get("/v1/nothing").json["code"] == "not_found"
    assert upstream.log == []


def test_request_id_is_echoed_and_sent_upstream(client, upstream):
    response = fetch(client, **{"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert upstream.log[0][0].headers["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("bad", ["a" * 200, "has space", "semi;colon", "<script>", "é"])
def test_a_malformed_request_id_is_replaced_not_echoed(client, upstream, bad):
    response = fetch(client, **{"X-Request-ID": bad})
    assert response.headers["X-Request-ID"] != bad
    assert len(response.headers["X-Request-ID"]) == 32
    assert upstream.log[0][0].headers["X-Request-ID"] == response.headers["X-Request-ID"]


def test_errors_carry_a_request_id_too(client):
    response = client.post("/v1/call-data", json={}, headers={"X-Request-ID": "err-1"})
    assert response.headers["X-Request-ID"] == "err-1"
    assert response.json["request_id"] == "err-1"


def test_inbound_credentials_and_cookies_are_never_sent_upstream(client, upstream):
    fetch(client, Cookie="session=abc", **{"X-Forwarded-For": "10.0.0.1"})
    sent = upstream.log[0][0].headers
    assert sent["Authorization"] == f"Bearer {STATIC_TOKEN}"
    assert "X-API-Key" not in sent and "Cookie" not in sent
    assert API_KEY not in str(sent)
