"""The Redis ledger: one set of books for several gateway instances.

Why these choices:
- A record is a hash under ``callnos:ledger:r:<task>\\x1f<customer>``; sorted
  sets index it: by last hand-over for all tasks (``open``) and per task
  (``open:<task>``), by fetch time per task (``fetched:<task>``, the metrics'
  oldest age) and for all tasks (``fetched``, the TTL). ``tasks`` names the
  tasks with open records. Members are ``<task>\\x1f<customer>``, so ties on a
  score sort as (task, customer), the order the SQLite ledger pages in.
- Every change is one Lua script: Redis runs it as one step, so a claim that
  reads the stale records and marks them handed out cannot be split by
  another instance's claim (exactly-once hand-over), and a record is never
  half entered or half closed.
- The scripts build their keys from their arguments, so the ledger needs one
  Redis (or a primary), not a cluster.
- Durability is the server's: run it with ``appendonly yes``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import redis

from callnos_gateway.stores.connections import ProcessRedis, failures_as
from callnos_gateway.stores.ledger.base import (
    Batch, Cursor, Entry, Expired, Page, TaskSummary, in_tasks, unavailable,
)

log = logging.getLogger(__name__)

PREFIX = "callnos:ledger:"
SEP = "\x1f"
CONNECT_TIMEOUT, SOCKET_TIMEOUT, RETRIES = 1.0, 5.0, 1
FIELDS = ("task", "customer", "batch", "client", "fetched", "handed", "attempts", "status", "status_at", "record")
BATCH_FIELDS = ("batch", "request", "task", "client", "size", "started")
_LUA_KEYS = f"""
local P = '{PREFIX}'
local function unindex(task, member)
  redis.call('ZREM', P .. 'open', member)
  redis.call('ZREM', P .. 'open:' .. task, member)
  redis.call('ZREM', P .. 'fetched', member)
  redis.call('ZREM', P .. 'fetched:' .. task, member)
end
"""
# ARGV: batch, request, task, client, size, started.
BEGIN = """
redis.call('HSET', '%sb:' .. ARGV[1], %s)
redis.call('ZADD', '%sbatches', ARGV[6], ARGV[1])
return 1
""" % (PREFIX, ", ".join(f"'{name}', ARGV[{i}]" for i, name in enumerate(BATCH_FIELDS, 1)), PREFIX)
# ARGV: batch, task, client, at, the customers joined by \x1f, their records' lengths joined by commas, the
# records back to back. Three arguments for the whole batch: the worker packs three strings, not two a record;
# the server splits them.
SETTLE = _LUA_KEYS + """
local task, at, records = ARGV[2], ARGV[4], ARGV[7]
local lengths = {}
for length in string.gmatch(ARGV[6], '%d+') do lengths[#lengths + 1] = tonumber(length) end
local i, start = 0, 1
for customer in string.gmatch(ARGV[5], '[^\\31]+') do
  i = i + 1
  local member = task .. '\\31' .. customer
  local key = P .. 'r:' .. member
  redis.call('DEL', key)
  redis.call('HSET', key, 'task', task, 'customer', customer, 'batch', ARGV[1], 'client', ARGV[3],
             'fetched', at, 'handed', at, 'attempts', 1, 'record', string.sub(records, start, start + lengths[i] - 1))
  start = start + lengths[i]
  redis.call('ZADD', P .. 'open', at, member)
  redis.call('ZADD', P .. 'open:' .. task, at, member)
  redis.call('ZADD', P .. 'fetched', at, member)
  redis.call('ZADD', P .. 'fetched:' .. task, at, member)
end
if i > 0 then redis.call('SADD', P .. 'tasks', task) end
redis.call('DEL', P .. 'b:' .. ARGV[1])
redis.call('ZREM', P .. 'batches', ARGV[1])
return 1
"""
# ARGV: task, customer.
CLOSE = _LUA_KEYS + """
local member = ARGV[1] .. '\\31' .. ARGV[2]
unindex(ARGV[1], member)
return redis.call('DEL', P .. 'r:' .. member)
"""
# ARGV: task, customer, status, at.
NOTE = _LUA_KEYS + """
local key = P .. 'r:' .. ARGV[1] .. '\\31' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'status', ARGV[3], 'status_at', ARGV[4])
return 1
"""
# ARGV: task, handed_before, limit, batch, client, at. Returns the claimed records' field lists.
CLAIM = _LUA_KEYS + """
local members = redis.call('ZRANGEBYSCORE', P .. 'open:' .. ARGV[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
local out = {}
for _, member in ipairs(members) do
  local key = P .. 'r:' .. member
  redis.call('HINCRBY', key, 'attempts', 1)
  redis.call('HSET', key, 'batch', ARGV[4], 'client', ARGV[5], 'handed', ARGV[6])
  redis.call('ZADD', P .. 'open', ARGV[6], member)
  redis.call('ZADD', P .. 'open:' .. ARGV[1], ARGV[6], member)
  out[#out + 1] = redis.call('HMGET', key, %s)
end
return out
""" % ", ".join(f"'{name}'" for name in FIELDS)
# ARGV: fetched_before, limit. Removes and returns the expired records, then the expired batches.
EXPIRE = _LUA_KEYS + """
local records, batches = {}, {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', P .. 'fetched', '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do
  local key = P .. 'r:' .. member
  local fields = redis.call('HMGET', key, %s)
  unindex(fields[1] or '', member)
  redis.call('DEL', key)
  if fields[1] then records[#records + 1] = fields end
end
for _, batch in ipairs(redis.call('ZRANGEBYSCORE', P .. 'batches', '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do
  local fields = redis.call('HMGET', P .. 'b:' .. batch, %s)
  redis.call('DEL', P .. 'b:' .. batch)
  redis.call('ZREM', P .. 'batches', batch)
  if fields[1] then batches[#batches + 1] = fields end
end
return {records, batches}
""" % (", ".join(f"'{name}'" for name in FIELDS), ", ".join(f"'{name}'" for name in BATCH_FIELDS))
SCRIPTS = {"begin": BEGIN, "settle": SETTLE, "close": CLOSE, "note": NOTE, "claim": CLAIM, "expire": EXPIRE}
PAGE_CHUNK = 256  # members read per step while paging past ties of the cursor's score


class RedisLedger:
    """The ledger in Redis (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = ProcessRedis(url, SCRIPTS, CONNECT_TIMEOUT, SOCKET_TIMEOUT, RETRIES)

    def begin(self, batch: Batch) -> None:
        self._run("begin", [batch.batch_id, batch.request_id, batch.task_id, batch.client, batch.batch_size,
                            repr(batch.started_at)])

    def settle(self, batch: Batch, records: Sequence[tuple[str, bytes]], at: float) -> None:
        customers = SEP.join(customer for customer, _ in records)
        lengths = ",".join(str(len(record)) for _, record in records)
        self._run("settle", [batch.batch_id, batch.task_id, batch.client, repr(at), customers, lengths,
                             b"".join(record for _, record in records)])

    def drop(self, batch_id: str) -> None:
        with _translated():
            pipe = self._redis.client().pipeline(transaction=True)
            pipe.delete(PREFIX + "b:" + batch_id)
            pipe.zrem(PREFIX + "batches", batch_id)
            pipe.execute()

    def close(self, task_id: str, customer_id: str) -> bool:
        return self._run("close", [task_id, customer_id]) == 1

    def note(self, task_id: str, customer_id: str, status: str, at: float) -> bool:
        return self._run("note", [task_id, customer_id, status, repr(at)]) == 1

    def page(self, tasks: frozenset[str] | None, handed_before: float, limit: int, after: Cursor | None) -> Page:
        index = PREFIX + ("open:" + next(iter(tasks)) if tasks is not None and len(tasks) == 1 else "open")
        start = after[0] if after is not None else "-inf"
        members: list[bytes] = []
        with _translated():
            client = self._redis.client()
            offset = 0
            while len(members) <= limit:
                chunk = client.zrangebyscore(index, start, handed_before, start=offset, num=PAGE_CHUNK, withscores=True)
                offset += len(chunk)
                members += [member for member, score in chunk if _wanted(member, score, tasks, after)]
                if len(chunk) < PAGE_CHUNK:
                    break
            entries = self._entries(client, members[:limit + 1])
        more = len(entries) > limit
        return Page(entries[:limit], entries[limit - 1].cursor if more else None)

    def claim(self, task_id: str, handed_before: float, limit: int, batch_id: str, client: str,
              at: float) -> list[Entry]:
        rows = self._run("claim", [task_id, repr(handed_before), limit, batch_id, client, repr(at)])
        return [_entry(row) for row in rows]

    def unknown(self, started_before: float, tasks: frozenset[str] | None) -> list[Batch]:
        with _translated():
            client = self._redis.client()
            ids = client.zrangebyscore(PREFIX + "batches", "-inf", started_before)
            pipe = client.pipeline(transaction=False)
            for batch_id in ids:
                pipe.hmget(PREFIX + "b:" + batch_id.decode(), BATCH_FIELDS)
            batches = [_batch(row) for row in pipe.execute() if row[0] is not None]
        return [batch for batch in batches if in_tasks(batch.task_id, tasks)]

    def count_unknown(self, started_before: float) -> int:
        with _translated():
            return self._redis.client().zcount(PREFIX + "batches", "-inf", started_before)

    def expire(self, fetched_before: float, limit: int) -> Expired:
        records, batches = self._run("expire", [repr(fetched_before), limit])
        return Expired([_entry(row) for row in records], [_batch(row) for row in batches])

    def summary(self) -> list[TaskSummary]:
        with _translated():
            client = self._redis.client()
            tasks = sorted(task.decode() for task in client.smembers(PREFIX + "tasks"))
            pipe = client.pipeline(transaction=False)
            for task in tasks:
                pipe.zcard(PREFIX + "fetched:" + task)
                pipe.zrange(PREFIX + "fetched:" + task, 0, 0, withscores=True)
            answers = pipe.execute()
            found = []
            for task, count, oldest in zip(tasks, answers[::2], answers[1::2]):
                if count:
                    found.append(TaskSummary(task, count, oldest[0][1]))
                else:
                    client.srem(PREFIX + "tasks", task)  # closed since; a racing SETTLE adds it back
            return found

    def _entries(self, client: redis.Redis, members: list[bytes]) -> list[Entry]:
        pipe = client.pipeline(transaction=False)
        for member in members:
            pipe.hmget(PREFIX + "r:" + member.decode(), FIELDS)
        return [_entry(row) for row in pipe.execute() if row[0] is not None]  # closed meanwhile: left out

    def _run(self, name: str, args: list) -> object:
        with _translated():
            return self._redis.script(name)(args=args)


def _wanted(member: bytes, score: float, tasks: frozenset[str] | None, after: Cursor | None) -> bool:
    task, customer = member.decode().split(SEP, 1)
    if after is not None and (score, task, customer) <= after:
        return False
    return in_tasks(task, tasks)


_translated = functools.partial(failures_as, unavailable)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


def _entry(row: list) -> Entry:
    task, customer, batch, client, fetched, handed, attempts, status, status_at, record = row
    return Entry(task.decode(), customer.decode(), batch.decode(), client.decode(), float(fetched), float(handed),
                 int(attempts), _text(status), None if status_at is None else float(status_at), bytes(record))


def _batch(row: list) -> Batch:
    batch, request, task, client, size, started = (value.decode() for value in row)
    return Batch(batch, request, task, client, int(size), float(started))
