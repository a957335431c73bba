"""What the two write-backs share: their answer (``result`` only) and their retry rule.

``call/result`` (final result) and ``push/midresult`` (intermediate) take the
same body and answer ``{"result": ...}`` with no ``resultData``. Whether a
repeated write is ignored or writes a second row is undocumented, so a
write-back is never re-sent once it may have arrived; a failure after
sending warns the client that the result may have been written.
"""

from __future__ import annotations

from callnos_gateway.errors import RESULT_MAY_BE_WRITTEN
from callnos_gateway.records.envelope import check_result, decode_json
from callnos_gateway.upstream.obs.interface import NEVER_RESEND, OBS, Interface


def write_back(name: str, path: str) -> Interface:
    """A write-back interface: never re-sent once it may have arrived."""
    return Interface(name, OBS + path, NEVER_RESEND, RESULT_MAY_BE_WRITTEN)


def read(body: bytes) -> None:
    """Accept ``result`` 0 / "0"; anything else is rejected (or a bad answer)."""
    check_result(decode_json(body))
