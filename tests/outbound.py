"""Helpers for the outbound routes' tests: upstream paths, and calls with the test key."""

from __future__ import annotations

from callnos_gateway.upstream.obs import call_result, isholiday, midresult, tasks
from conftest import API_KEY

TASKS = tasks.TASKS.default_path
HOLIDAY = isholiday.HOLIDAY.default_path
RESULT = call_result.RESULT.default_path
MIDRESULT = midresult.MIDRESULT.default_path
RESULTS_ROUTE = {True: "/v1/call-results", False: "/v1/call-results/intermediate"}


def get(client, path: str, **headers: str):
    """GET a /v1 route with the test key (unless overridden)."""
    return client.get(path, headers={"X-API-Key": API_KEY, **headers})


def write(client, body: object, final: bool = True, **headers: str):
    """POST a result to the final (or intermediate) route with the test key."""
    return client.post(RESULTS_ROUTE[final], json=body, headers={"X-API-Key": API_KEY, **headers})


def problem_of(response) -> dict:
    """The problem+json body of an error answer, checked for its mandatory members."""
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert {"type", "title", "status", "detail", "code", "request_id"} <= set(body)
    assert body["status"] == response.status_code
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def record_of(sim, client, task_id: int = 1001, count: int = 1) -> list[dict]:
    """Fetch ``count`` records of a task through the gateway (so the simulator handed them out)."""
    from conftest import fetch

    answer = fetch(client, {"task_id": task_id, "batch_size": count})
    assert answer.status_code == 200
    return answer.json["records"]
