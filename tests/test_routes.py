"""Each /v1 route is declared once (callnos_gateway.api.routes) and everything reads it from there."""

from __future__ import annotations

import pytest

from callnos_gateway.api.problem_texts import PROBLEMS, retry_text
from callnos_gateway.api.routes import ROUTES, route_for
from callnos_gateway.settings.clients import SCOPES
from callnos_gateway.upstream.obs import INTERFACES

IMPLICIT = {"HEAD", "OPTIONS"}


def openapi_path(route):
    return route.path.replace("<", "{").replace(">", "}")


def test_every_route_scope_word_is_an_allow_word_and_every_allow_word_is_used():
    used = {route.allow for route in ROUTES}
    assert used <= set(SCOPES), used - set(SCOPES)
    assert set(SCOPES) <= used, set(SCOPES) - used


def test_routes_are_declared_once_each():
    assert len({route.name for route in ROUTES}) == len({route.path for route in ROUTES}) == len(ROUTES)
    assert all(route.path.startswith("/v1/") and route.interface in (*INTERFACES, None) for route in ROUTES)
    local = [route for route in ROUTES if route.interface is None]  # the ledger's routes call nothing upstream
    assert all(not {502, 504} & set(route.problems) for route in local)


def test_the_app_serves_exactly_the_declared_routes_with_their_methods(app_client):
    served = {rule.rule: set(rule.methods) - IMPLICIT
              for rule in app_client.application.url_map.iter_rules() if rule.rule.startswith("/v1/")}
    assert served == {route.path: set(route.methods) for route in ROUTES}


def test_a_matched_rule_finds_its_route_and_others_find_none():
    for route in ROUTES:
        assert route_for(route.path) is route
    assert route_for("/v1/holidays/<string:holiday_id>").name == "holidays"
    assert route_for("/readyz") is None and route_for("/v1/new-thing") is None


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_the_openapi_entry_comes_from_the_declaration(document, route):
    (method,) = route.methods
    operation = document["paths"][openapi_path(route)][method.lower()]
    assert (operation["summary"], operation["description"]) == (route.summary, route.description)
    assert operation["security"] == [{"ApiKey": []}]
    documented = {int(status) for status in operation["responses"]} - {200}
    assert documented == set(route.problems)
    for status in set(route.problems) - {502, 504}:
        assert operation["responses"][str(status)]["description"] == PROBLEMS[status]


@pytest.mark.parametrize("route", [route for route in ROUTES if route.interface is not None], ids=lambda route: route.name)
def test_the_502_and_504_texts_say_the_interfaces_retry_rule_and_warning(document, route):
    (method,) = route.methods
    responses = document["paths"][openapi_path(route)][method.lower()]["responses"]
    for status in ("502", "504"):
        text = responses[status]["description"]
        assert text.startswith(PROBLEMS[int(status)])
        assert retry_text(route.interface) in text and route.interface.warning in text
        assert route.interface.retry.name in text


def test_the_texts_differ_where_the_interfaces_do(document):
    call_data = document["paths"]["/v1/call-data"]["post"]["responses"]["504"]["description"]
    tasks = document["paths"]["/v1/tasks"]["get"]["responses"]["504"]["description"]
    assert "batch may have been taken" in call_data and "never re-sent" in call_data
    assert "safe to retry" in tasks and "sent once more" in tasks and "batch" not in tasks
    holidays = document["paths"]["/v1/holidays/{holiday_id}"]["get"]["responses"]["502"]["description"]
    assert "isHoliday other than 0 or 1" in holidays


def test_the_metrics_label_a_route_by_its_declared_path(app_client):
    app_client.get("/v1/holidays/7")  # refused (no key), still counted under its route
    text = app_client.get("/metrics").get_data(as_text=True)
    assert 'route="/v1/holidays/<holiday_id>"' in text
