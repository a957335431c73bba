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


def scoped_key(client_id: str, key: str, scope: str = "") -> str:
    """Return the store key: the client's key id (and the route's scope, if any), then its Idempotency-Key.

    Client ids are hex digests or ``anonymous`` and scopes are route names
    (neither has a ``:``), so everything before the first ``:`` is the scope
    of the key: no choice of Idempotency-Key can reach into another client's
    or another route's keys. Call-data keys have no route scope, as before.
    """
    if ":" in client_id or ":" in scope:
        raise ValueError("a client id or a scope must not contain ':'")
    return f"{client_id}/{scope}:{key}" if scope else f"{client_id}:{key}"
