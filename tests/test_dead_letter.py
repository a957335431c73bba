"""An upstream answer the gateway cannot read is kept, so the records it took can be recovered."""

from __future__ import annotations

import stat

import pytest

from callnos_gateway.stores.dead_letters import DeadLetters
from conftest import API_KEY, fetch, login_settings


@pytest.mark.parametrize("fault", ["broken_json", "wrong_shape"])
def test_an_unreadable_answer_is_kept_under_its_batch_id(sim, gateway, tmp_path, fault):
    client = gateway(login_settings(sim.url, dead_letter_dir=str(tmp_path / "dead")))
    sim.push_faults("callnos", [fault])
    response = fetch(client)
    body = response.json
    assert (response.status_code, body["code"]) == (502, "upstream_bad_response")
    assert body["detail"].endswith(" The answer was kept for recovery under this batch_id.")
    kept = tmp_path / "dead" / f"{body['batch_id']}.body"
    assert kept.read_bytes()  # the upstream's bytes, as they came
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_the_kept_body_is_the_upstreams_bytes(tmp_path):
    letters = DeadLetters(str(tmp_path))
    path = letters.keep("b-1", b'{"result":0,"resultData":{"taskData":[{"seviceId:"x"')
    assert path.read_bytes() == b'{"result":0,"resultData":{"taskData":[{"seviceId:"x"'


def test_disabled_or_unwritable_keeps_nothing_and_the_client_still_gets_its_502(sim, gateway, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    client = gateway(login_settings(sim.url, dead_letter_dir=str(blocker / "dead")))
    sim.push_faults("callnos", ["broken_json"])
    response = fetch(client)
    assert response.json["code"] == "upstream_bad_response"
    assert "kept" not in response.json["detail"]
    assert DeadLetters(None).keep("b", b"x") is None


def test_problems_after_the_upstream_call_carry_the_batch_id(sim, client):
    sim.push_faults("callnos", ["status:503"])
    body = fetch(client).json
    assert len(body["batch_id"]) == 32
    assert "batch_id" not in fetch(client, {"task_id": "bad"}).json


def test_a_read_that_cannot_be_read_keeps_nothing(sim, gateway, tmp_path):
    client = gateway(login_settings(sim.url, dead_letter_dir=str(tmp_path / "dead")))
    sim.push_faults("tasks", ["broken_json"])
    response = client.get("/v1/tasks", headers={"X-API-Key": API_KEY})
    assert (response.status_code, response.json["code"]) == (502, "upstream_bad_response")
    assert "kept" not in response.json["detail"] and "batch_id" not in response.json
    assert not (tmp_path / "dead").exists() or not list((tmp_path / "dead").iterdir())
