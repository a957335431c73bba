"""callnos (``business/callnos``): take the next batch of a task's records.

Every call takes records off the upstream queue, so it is never re-sent once
it may have arrived. Its answer (records in two shapes and two spellings) is
normalised by ``schemas.upstream``: the record schema is a marshmallow schema
at the gateway's edge, so the raw reply is handed up as it came.
"""

from __future__ import annotations

from adapter.errors import BATCH_MAY_BE_TAKEN
from adapter.obs.interface import NEVER_RESEND, OBS, Interface

CALLNOS = Interface("callnos", OBS + "/business/callnos", NEVER_RESEND, BATCH_MAY_BE_TAKEN)


def raw(body: bytes) -> bytes:
    """The answer as it came: read by ``schemas.upstream.normalise_answer``."""
    return body
