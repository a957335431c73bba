"""The OpenAPI document is valid, covers every route, and /docs works without the internet."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from conftest import API_KEY, settings_for

NOT_API = {"/openapi.json", "/docs", "/docs/assets/<path:filename>"}  # the docs themselves
IMPLICIT = {"HEAD", "OPTIONS"}


def test_the_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_and_method_is_documented(app_client, document):
    for rule in app_client.application.url_map.iter_rules():
        if rule.rule in NOT_API:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # Flask's <holiday_id> is OpenAPI's {holiday_id}
        documented = {method.upper() for method in document["paths"].get(path, {}) if method != "parameters"}
        assert documented == set(rule.methods) - IMPLICIT, rule.rule


def test_errors_are_documented_as_problem_json(document):
    responses = document["paths"]["/v1/call-data"]["post"]["responses"]
    for status in ("400", "401", "413", "502", "504"):
        assert list(responses[status]["content"]) == ["application/problem+json"]
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert problem["example"]["code"] == "upstream_error"
    assert "Error" not in document["components"]["schemas"]  # flask-smorest's own error shape is not ours
    ready = document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/problem+json"]
    assert ready["example"]["reason"] == "upstream_auth_failed"


def test_the_request_schema_is_the_one_that_validates(document):
    request = document["components"]["schemas"]["CallDataRequest"]
    assert set(request["required"]) == {"task_id", "batch_size"}
    assert request["additionalProperties"] is False


def test_docs_load_their_assets_from_the_gateway(app_client):
    page = app_client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and not [url for url in assets if "://" in url]
    for url in assets:
        answer = app_client.get("/" + url)  # relative to /docs
        assert answer.status_code == 200 and len(answer.data) > 1000, url


def test_docs_assets_stay_inside_their_directory(app_client):
    assert app_client.get("/docs/assets/..%2F..%2F..%2Fapp.py").status_code == 404
    assert app_client.get("/docs/assets/nothing.js").status_code == 404


@pytest.mark.parametrize("path, method", [
    ("/v1/tasks", "get"), ("/v1/holidays/{holiday_id}", "get"),
    ("/v1/call-results", "post"), ("/v1/call-results/intermediate", "post"),
])
def test_the_outbound_routes_are_documented_with_examples_and_problems(document, path, method):
    operation = document["paths"][path][method]
    assert operation["security"] == [{"ApiKey": []}]
    assert operation["responses"]["200"]["content"]["application/json"]["example"]
    for status in ("400", "401", "502", "504"):
        assert list(operation["responses"][status]["content"]) == ["application/problem+json"]
    if method == "post":
        assert operation["requestBody"]["content"]["application/json"]["example"]["task_id"] == "1001"
        assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
        assert "may have been written" in operation["responses"]["504"]["description"]
    else:
        assert {"call_center_id", "vcc_id"} <= {p["name"] for p in operation["parameters"]}


def test_the_result_request_schema_refuses_unknown_fields(document):
    schema = document["components"]["schemas"]["ResultRequest"]
    assert set(schema["required"]) == {"task_id", "customer_id"} and schema["additionalProperties"] is False
    assert schema["properties"]["call_ended_at"]["format"] == "date-time"


@pytest.mark.parametrize("max_batch", [500, 37])
def test_batch_size_states_the_bounds_the_gateway_enforces(gateway, max_batch):
    client = gateway(settings_for("http://127.0.0.1:9", max_batch=max_batch))
    batch_size = client.get("/openapi.json").json["components"]["schemas"]["CallDataRequest"]["properties"]["batch_size"]
    assert (batch_size["minimum"], batch_size["maximum"]) == (1, max_batch)
    headers = {"X-API-Key": API_KEY}
    for refused in (0, max_batch + 1):  # just outside the document's bounds: refused with a 400
        answer = client.post("/v1/call-data", json={"task_id": 1001, "batch_size": refused}, headers=headers)
        assert answer.status_code == 400 and answer.json["code"] == "invalid_request"
    inside = client.post("/v1/call-data", json={"task_id": 1001, "batch_size": max_batch}, headers=headers)
    assert inside.status_code == 502  # accepted, then the (absent) upstream fails: not refused as invalid
