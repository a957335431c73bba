"""Slots and circuit in Redis: every gateway instance sees the same ones.

Slots are a sorted set of holders scored by lease end; a Lua script drops
ended leases, counts and adds in one step, on Redis' own clock (``TIME``),
so instances whose clocks differ still agree on when a lease ends. The
circuit is a hash changed under ``WATCH``/``MULTI``: a change that raced
another is re-read and applied again.
"""

from __future__ import annotations

import redis

from callnos_gateway.stores.connections import ProcessRedis, failures_as
from callnos_gateway.stores.protection.base import CircuitChange, CircuitRow, ProtectionStoreUnavailable

SLOTS, CIRCUIT = "callnos:upstream-slots", "callnos:circuit"
CONNECT_TIMEOUT, SOCKET_TIMEOUT, RETRIES = 0.5, 1.0, 0
NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "
# KEYS: slots. ARGV: cap, lease s, holder.
TAKE = NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
return 1
"""
IN_USE = NOW + "return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')"
FIELDS = ("failures", "open_until", "trial_until")


class RedisProtection:
    """Slots and circuit on the Redis server ``url`` names."""

    def __init__(self, url: str) -> None:
        self.redis = ProcessRedis(url, {"take": TAKE, "in_use": IN_USE}, CONNECT_TIMEOUT, SOCKET_TIMEOUT, RETRIES)

    def take_slot(self, holder: str, cap: int, lease: float) -> bool:
        return bool(self._run(lambda: self.redis.script("take")(keys=[SLOTS], args=[cap, lease, holder])))

    def give_slot(self, holder: str) -> None:
        self._run(lambda: self.redis.client().zrem(SLOTS, holder))

    def slots_in_use(self) -> int:
        return int(self._run(lambda: self.redis.script("in_use")(keys=[SLOTS])))

    def circuit(self) -> CircuitRow:
        return self._run(lambda: _row(self.redis.client()))

    def change_circuit(self, change: CircuitChange) -> tuple[CircuitRow, CircuitRow]:
        rows: list[CircuitRow] = []

        def apply(pipe: redis.client.Pipeline) -> None:
            before = _row(pipe)
            now = _now(pipe)
            after = change(before, now) or before
            rows[:] = [before, after]
            pipe.multi()
            if after != before:
                pipe.hset(CIRCUIT, mapping={name: _text(getattr(after, name)) for name in FIELDS})

        self._run(lambda: self.redis.client().transaction(apply, CIRCUIT))
        return rows[0], rows[1]

    @staticmethod
    def _run(command):  # type: ignore[no-untyped-def]
        with failures_as(lambda error: ProtectionStoreUnavailable(error.__class__.__name__)):
            return command()


def _row(client: redis.Redis) -> CircuitRow:
    values = client.hmget(CIRCUIT, FIELDS)
    failures, open_until, trial_until = (None if v in (None, b"") else float(v) for v in values)
    return CircuitRow(int(failures or 0), open_until, trial_until)


def _now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1_000_000


def _text(value: float | int | None) -> str:
    return "" if value is None else repr(value)
