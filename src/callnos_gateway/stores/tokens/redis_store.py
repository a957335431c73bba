"""The Redis token store: one token per upstream and user for every gateway instance.

Why these choices:
- The lock is ``SET lock holder NX PX lease``: one atomic step whichever
  instance asks; Redis drops it by itself when the lease runs out.
- "Store only while I hold the lock", "free the lock only if mine" and
  "delete the token only if it is still this one" are Lua scripts: Redis runs
  each as one step, so no other instance slips in between check and write.
- A token is a hash that Redis expires ``keep_for`` seconds after it was
  stored (the refresh token's lifetime).
- Short timeouts and no retry: a token lookup sits on a request's path, and
  a store that does not answer at once makes the process use its own token.
"""

from __future__ import annotations

import functools


from callnos_gateway.stores.connections import ProcessRedis, failures_as
from callnos_gateway.stores.tokens.base import StoredToken, TokenStoreUnavailable

TOKEN_PREFIX, LOCK_PREFIX = "callnos:token:", "callnos:token-lock:"
CONNECT_TIMEOUT, SOCKET_TIMEOUT, RETRIES = 0.5, 1.0, 0
FIELDS = ("token", "refresh_token", "renew_at", "expires_at", "refresh_until")
# KEYS: token, lock. ARGV: holder, keep_for in ms, then the fields and values.
PUT = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# KEYS: token. ARGV: the refused value.
DELETE_IF = """
local stored = redis.call('HMGET', KEYS[1], 'token', 'refresh_token')
if stored[1] == ARGV[1] or stored[2] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: lock. ARGV: holder, lease in ms. Takes a free lock, or extends our own.
ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisTokenStore:
    """Tokens and renew locks in Redis (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        scripts = {"put": PUT, "delete_if": DELETE_IF, "acquire": ACQUIRE, "release": RELEASE}
        self._redis = ProcessRedis(url, scripts, CONNECT_TIMEOUT, SOCKET_TIMEOUT, RETRIES)

    def get(self, key: str) -> StoredToken | None:
        with _translated():
            values = self._redis.client().hmget(TOKEN_PREFIX + key, FIELDS)
        if values[0] is None:
            return None
        token, refresh_token, renew_at, expires_at, refresh_until = values
        return StoredToken(token.decode(), refresh_token.decode() or None, float(renew_at), float(expires_at),
                           float(refresh_until))

    def put(self, key: str, token: StoredToken, holder: str, keep_for: float) -> bool:
        fields = [token.token, token.refresh_token or "", repr(token.renew_at), repr(token.expires_at),
                  repr(token.refresh_until)]
        pairs = [item for pair in zip(FIELDS, fields) for item in pair]
        with _translated():
            return bool(self._redis.script("put")(
                keys=[TOKEN_PREFIX + key, LOCK_PREFIX + key], args=[holder, _ms(keep_for), *pairs]))

    def delete_if(self, key: str, value: str) -> bool:
        with _translated():
            return bool(self._redis.script("delete_if")(keys=[TOKEN_PREFIX + key], args=[value]))

    def acquire(self, key: str, holder: str, lease: float) -> bool:
        with _translated():
            return bool(self._redis.script("acquire")(keys=[LOCK_PREFIX + key], args=[holder, _ms(lease)]))

    def release(self, key: str, holder: str) -> None:
        with _translated():
            self._redis.script("release")(keys=[LOCK_PREFIX + key], args=[holder])


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _unavailable(error: BaseException) -> TokenStoreUnavailable:
    return TokenStoreUnavailable(f"{error.__class__.__name__}: {error}")


_translated = functools.partial(failures_as, _unavailable)
