"""callnos (``business/callnos``): take the next batch of a task's records.

Every call takes records off the upstream queue, so it is never re-sent once
it may have arrived. Its answer (records in two shapes and two spellings) is
read into one shape by ``callnos_gateway.records.normalise``; an answer that
cannot be read raises ``UpstreamBadResponse`` carrying the reply, so the
caller can keep the batch for recovery.
"""

from __future__ import annotations

from callnos_gateway.errors import BATCH_MAY_BE_TAKEN
from callnos_gateway.records.normalise import NormalisedBatch, normalise_answer
from callnos_gateway.upstream.obs.interface import NEVER_RESEND, OBS, Interface

CALLNOS = Interface("callnos", OBS + "/business/callnos", NEVER_RESEND, BATCH_MAY_BE_TAKEN)


def read(body: bytes) -> NormalisedBatch:
    """The batch in one shape; a rejected or unreadable answer raises (``UpstreamRejected``, ``UpstreamBadResponse``)."""
    return normalise_answer(body)
