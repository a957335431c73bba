"""What makes two requests "the same": the fingerprint, and the key's scope.

Why a fingerprint of the validated request rather than of the raw bytes:
``{"task_id": 1, "batch_size": 5}`` and the same with the default ids spelled
out, or with other spacing or key order, ask for the same thing and must
replay, while any change of what is asked must not (IETF httpapi
Idempotency-Key draft, "Idempotency Fingerprint").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def fingerprint(fields: Mapping[str, Any]) -> str:
    """Return the SHA-256 of the canonical JSON of a validated request."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def scoped_key(client_id: str, key: str) -> str:
    """Return the store key: the client's key id, then its Idempotency-Key.

    Client ids are hex digests or ``anonymous`` (no ``:``), so no choice of
    Idempotency-Key can reach into another client's scope.
    """
    if ":" in client_id:
        raise ValueError("a client id must not contain ':'")
    return f"{client_id}:{key}"
