"""callnos (``business/callnos``): take the next batch of a task's records.

Every call takes records off the upstream queue, so it is never re-sent once
it may have arrived. Its answer (records in two shapes and two spellings) is
normalised by ``callnos_gateway.records.normalise``: the record schema is a marshmallow schema
at the gateway's edge, so the raw reply is handed up as it came.
"""

from __future__ import annotations

from callnos_gateway.errors import BATCH_MAY_BE_TAKEN
from callnos_gateway.upstream.obs.interface import NEVER_RESEND, OBS, Interface

CALLNOS = Interface("callnos", OBS + "/business/callnos", NEVER_RESEND, BATCH_MAY_BE_TAKEN)


def raw(body: bytes) -> bytes:
    """The answer as it came: read by ``callnos_gateway.records.normalise.normalise_answer``."""
    return body
