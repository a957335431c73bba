"""No password, token or API key in any answer or log line, over a whole session.

The session logs in, fetches, has its token refused and renewed, refreshes,
meets every kind of upstream error and bad input, and probes readiness. Every
answer (body and headers) and every log record of every logger, at DEBUG, is
then searched for each secret.
"""

from __future__ import annotations

import logging

import pytest

from conftest import API_KEY, SIM_PASSWORD, fetch, login_settings

FAULTS = ["status:500", "status:401", "result:1", "broken_json", "wrong_shape", "drop", "reset", "timeout:2",
          "huge:100000"]


def answer_text(response) -> str:
    return response.get_data(as_text=True) + str(dict(response.headers))


def log_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in records)


def test_a_full_session_leaks_no_secret(sim, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    client = gateway(login_settings(sim.url, read_timeout=0.5, max_response_bytes=50_000))
    answers = [fetch(client), client.get("/readyz")]
    sim.expire_tokens()
    answers.append(fetch(client))
    for fault in FAULTS:
        sim.push_faults("callnos", [fault])
        answers.append(fetch(client))
    answers += [fetch(client, {"task_id": "x"}), fetch(client, **{"X-API-Key": API_KEY + "x"}),
                client.post("/v1/call-data", data=b"{", headers={"X-API-Key": API_KEY})]
    answers.append(fetch(gateway(login_settings(sim.url))))  # a second process's login

    secrets = [SIM_PASSWORD, API_KEY, *sim.issued_tokens()]
    assert len(secrets) >= 6, "the session should have logged in and renewed tokens"
    assert {a.status_code for a in answers} >= {200, 400, 401, 502, 504}
    everything = "\n".join(answer_text(a) for a in answers) + log_text(caplog.records)
    for secret in secrets:
        assert secret not in everything


@pytest.mark.parametrize("mode", ["static", "login"])
def test_settings_repr_and_errors_never_show_secrets(sim, gateway, mode):
    token = sim.issue_token()
    overrides = {"auth_mode": "static", "token": token} if mode == "static" else {}
    settings = login_settings(sim.url, **overrides)
    text = repr(settings) + str(settings.describe())
    for secret in (SIM_PASSWORD, API_KEY, token):
        assert secret not in text
