"""The Redis store: one set of keys shared by several gateway instances.

Why these choices:
- The claim is ``SET key marker NX PX lease``: one atomic step, whichever
  instance asks, and the marker expires by itself if its worker dies.
- "Store the answer only if the claim is still mine" and "free the key only
  if the claim is still mine" are Lua scripts: Redis runs each as one step,
  so no other instance can slip in between the check and the write.
- Answers are kept with ``EX ttl``: Redis removes expired entries itself.
- Durability is the server's: the write is acknowledged before the client is
  answered; to survive a Redis restart, run it with ``appendonly yes``.
- The client is built on first use (after gunicorn's fork), never at import
  (``callnos_gateway.stores.connections``).

One string per key, a header line and then the body, byte for byte::

    F <token> <fingerprint>                      in flight
    D <fingerprint> <batch_id>\\n<body>          answered
"""

from __future__ import annotations

import functools
import logging
import uuid


from callnos_gateway.stores.idempotency.base import Claimed, Outcome, StoredAnswer, StoreUnavailable, judge, unavailable
from callnos_gateway.stores.connections import ProcessRedis, failures_as

log = logging.getLogger(__name__)

KEY_PREFIX = "callnos:idempotency:"
CONNECT_TIMEOUT, SOCKET_TIMEOUT = 2.0, 5.0
RETRIES = 2  # of a command whose connection failed; few and quick, a client is waiting
CLAIM_ATTEMPTS = 3  # the holder's entry may expire between our SET and GET
# ARGV: our marker prefix "F <token> ", then "<batch_id>\n<body>", then the TTL in seconds.
# The first test makes a re-sent script (its first reply lost) report success.
COMPLETE = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
if string.sub(value, 1, 2) == 'D ' and string.sub(value, -#ARGV[2]) == ARGV[2] then return 1 end
if string.sub(value, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
local fingerprint = string.sub(value, #ARGV[1] + 1)
redis.call('SET', KEYS[1], 'D ' .. fingerprint .. ' ' .. ARGV[2], 'EX', ARGV[3])
return 1
"""
# ARGV: our marker prefix "F <token> ".
RELEASE = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, #ARGV[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisStore:
    """Idempotency entries in Redis (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = ProcessRedis(url, {"complete": COMPLETE, "release": RELEASE}, CONNECT_TIMEOUT, SOCKET_TIMEOUT,
                                   RETRIES)

    def claim(self, key: str, fingerprint: str, lease: float) -> Outcome:
        """Take ``key`` for ``lease`` seconds, or say what holds it."""
        token = uuid.uuid4().hex
        marker = f"{_marker_prefix(token)}{fingerprint}".encode()
        with _translated():
            client = self._redis.client()
            for _ in range(CLAIM_ATTEMPTS):
                if client.set(KEY_PREFIX + key, marker, nx=True, px=max(1, int(lease * 1000))):
                    return Claimed(token)
                value = client.get(KEY_PREFIX + key)
                if value == marker:  # our own SET went through but its reply was lost
                    return Claimed(token)
                if value is not None:
                    stored_fingerprint, answer = _decode(value)
                    return judge(stored_fingerprint, fingerprint, answer)
        raise StoreUnavailable("The idempotency store kept changing under the claim; retry.")

    def complete(self, key: str, token: str, answer: StoredAnswer, ttl: int) -> bool:
        """Swap our in-flight marker for the answer, kept ``ttl`` seconds; False if not ours."""
        tail = f"{answer.batch_id}\n".encode() + answer.body
        with _translated():
            return bool(self._redis.script("complete")(keys=[KEY_PREFIX + key], args=[_marker_prefix(token), tail, ttl]))

    def release(self, key: str, token: str) -> None:
        """Delete the key if our in-flight marker still holds it."""
        with _translated():
            self._redis.script("release")(keys=[KEY_PREFIX + key], args=[_marker_prefix(token)])


def _marker_prefix(token: str) -> str:
    return f"F {token} "


def _decode(value: bytes) -> tuple[str, StoredAnswer | None]:
    """Read a stored value: (fingerprint, answer or None while in flight)."""
    header, _, body = value.partition(b"\n")
    kind, first, second = header.decode("ascii").split(" ", 2)
    if kind == "D":
        return first, StoredAnswer(batch_id=second, body=body)
    return second, None


_translated = functools.partial(failures_as, unavailable)
