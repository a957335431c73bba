"""callnos (``business/callnos``): take the next batch of a task's records.

Every call takes records off the upstream queue, so it is never re-sent once
it may have arrived. Its answer (records in two shapes and two spellings) is
read here as every answer is (the envelope), then put into one shape by the
pure ``callnos_gateway.records.normalise``; an answer that
cannot be read raises ``UpstreamBadResponse`` carrying the reply, so the
caller can keep the batch for recovery.
"""

from __future__ import annotations

from callnos_gateway.errors import BATCH_MAY_BE_TAKEN
from callnos_gateway.records.normalise import RECORD_PLAN, NormalisedBatch, normalise_batch
from callnos_gateway.records.record_plan import RecordPlan
from callnos_gateway.upstream.obs.envelope import decode_json, successful_result_data
from callnos_gateway.upstream.obs.interface import NEVER_RESEND, Interface

CALLNOS = Interface("callnos", NEVER_RESEND, BATCH_MAY_BE_TAKEN)


def read(body: bytes, plan: RecordPlan | None = RECORD_PLAN) -> NormalisedBatch:
    """Turn a callnos answer into one shape, or raise rejected / bad response (``plan``: see ``normalise_batch``)."""
    return normalise_batch(successful_result_data(decode_json(body)), plan)
