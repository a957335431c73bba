"""``UpstreamApi`` answers every interface alike: ``Answered[value]`` or an error that keeps its reply."""

from __future__ import annotations

import pytest

from callnos_gateway.errors import BATCH_MAY_BE_TAKEN, UpstreamBadResponse, UpstreamRejected
from callnos_gateway.records.normalise import NormalisedBatch
from callnos_gateway.upstream.api import UpstreamApi
from conftest import login_settings

BODY = {"subCCNo": 1, "vdnId": 1, "serviceId": 1001, "batchCount": 3}


@pytest.fixture
def upstream(sim):
    return UpstreamApi(login_settings(sim.url))


def test_callnos_answers_a_normalised_batch_with_its_reply(upstream):
    answered = upstream.callnos(BODY, "req-1")
    assert isinstance(answered.value, NormalisedBatch) and len(answered.value.records) == 3
    assert answered.reply.status == 200 and answered.reply.elapsed_ms > 0


@pytest.mark.parametrize("fault", ["broken_json", "wrong_shape"])
def test_an_unreadable_callnos_answer_raises_with_its_body_and_warning(sim, upstream, fault):
    sim.push_faults("callnos", [fault])
    with pytest.raises(UpstreamBadResponse) as caught:
        upstream.callnos(BODY, "req-2")
    error = caught.value
    assert error.reply is not None and error.reply.status == 200 and error.reply.body
    assert error.detail.endswith(BATCH_MAY_BE_TAKEN) and error.elapsed_ms is not None


def test_a_rejected_callnos_answer_keeps_its_reply_and_no_warning(sim, upstream):
    sim.push_faults("callnos", ["result:0100001"])
    with pytest.raises(UpstreamRejected) as caught:
        upstream.callnos(BODY, "req-3")
    assert caught.value.reply.status == 200 and BATCH_MAY_BE_TAKEN not in caught.value.detail


def test_any_interfaces_unreadable_answer_keeps_its_reply(sim, upstream):
    sim.push_faults("tasks", ["broken_json", "broken_json"])  # not retried: a bad answer is not a 5xx
    with pytest.raises(UpstreamBadResponse) as caught:
        upstream.tasks(1, 1, "req-4")
    assert caught.value.reply.body and "takes nothing upstream" in caught.value.detail
