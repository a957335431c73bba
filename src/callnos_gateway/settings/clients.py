"""Inbound clients: who holds a key, which routes and which tasks it may use.

The clients file (``CALLNOS_CLIENTS_FILE``) is TOML, one ``[[client]]`` table
per key::

    [[client]]
    name = "dialer-east"                  # required; several keys may share it (rotation)
    key_sha256 = "9f86d081..."            # 64 hex digits: SHA-256 of the key, never the key
    tasks = ["1001", "1002"]              # task ids it may touch, or ["*"] for every task
    allow = ["tasks", "call-data"]        # optional; default every scope in SCOPES
    requests = "600/minute"               # optional quota; default CALLNOS_QUOTA_REQUESTS
    records = "20000/hour"                # optional quota; default CALLNOS_QUOTA_RECORDS

Any rule broken is a ``ConfigError`` naming the setting and the entry, so a
bad file stops the start. Without a file, each ``CALLNOS_API_KEYS`` key is an
unnamed client with every scope. Keys are matched by digest in constant time:
every digest is compared whatever matches, and nothing tells which keys exist.
Pure: no Flask, no network.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callnos_gateway.errors import ConfigError
from callnos_gateway.settings.quotas import QUOTA_NAMES, quota_problem

SETTING = "CALLNOS_CLIENTS_FILE"
SCOPES = ("tasks", "call-data", "holidays", "results", "outstanding")
ALL_TASKS = "*"
FIELDS = frozenset({"name", "key_sha256", "tasks", "allow", *QUOTA_NAMES})
HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
LABEL_HEX = 12  # an unnamed key shows as this many hex digits of its digest, never more
ANONYMOUS_ID = "anonymous"


def key_digest(key: str) -> bytes:
    """SHA-256 of a key as sent in ``X-API-Key`` (UTF-8; undecodable bytes kept)."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


@dataclass(frozen=True)
class Client:
    """One key's holder: its name (None for a bare ``CALLNOS_API_KEYS`` key) and scopes."""

    name: str | None
    digest: bytes = field(repr=False)
    tasks: frozenset[str] | None = None  # None: every task ("*")
    allow: frozenset[str] = frozenset(SCOPES)
    quotas: tuple[tuple[str, str], ...] = ()  # (quota name, "600/minute") named in the file

    @property
    def key_id(self) -> str:
        """A short id of the key itself (idempotency scope; logs of unnamed keys)."""
        return self.digest.hex()[:LABEL_HEX] if self.digest else ANONYMOUS_ID

    @property
    def label(self) -> str:
        """What logs and metrics show: the name, else the short key id."""
        return self.name or self.key_id

    def may_use(self, scope: str) -> bool:
        """Whether the client's ``allow`` list holds ``scope``."""
        return scope in self.allow

    def may_touch(self, task_id: object) -> bool:
        """Whether the client may touch ``task_id`` (compared as a string)."""
        return self.tasks is None or str(task_id) in self.tasks

    def visible_tasks(self, task_ids: Iterable[str]) -> list[str]:
        """The ids of ``task_ids`` this client may see, in their order."""
        return [task_id for task_id in task_ids if self.may_touch(task_id)]


ANONYMOUS = Client(name=ANONYMOUS_ID, digest=b"")  # CALLNOS_ALLOW_ANONYMOUS: no key at all


class ClientRing:
    """The known clients, found by the digest of a presented key in constant time."""

    def __init__(self, clients: Iterable[Client]) -> None:
        self._clients = tuple(clients)

    def __len__(self) -> int:
        return len(self._clients)

    def find(self, key: str) -> Client | None:
        """Return the client holding ``key``, or None; always compares every digest."""
        digest = key_digest(key)
        found = None
        for client in self._clients:
            if hmac.compare_digest(digest, client.digest):
                found = client
        return found


def clients_from_keys(keys: Iterable[str]) -> tuple[Client, ...]:
    """Bare ``CALLNOS_API_KEYS`` keys: unnamed clients with every scope."""
    return tuple(Client(name=None, digest=key_digest(key)) for key in keys)


def load_clients_file(path: str) -> tuple[Client, ...]:
    """Read and check the clients file, or raise ``ConfigError`` naming the entry."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _error(f"cannot read {path}: {error.__class__.__name__}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _error(f"{path} is not valid TOML: {error}") from None
    return parse_clients(document, path)


def parse_clients(document: Mapping[str, Any], path: str = "the clients file") -> tuple[Client, ...]:
    """Turn a parsed clients document into clients; every rule broken is a ``ConfigError``."""
    unknown = sorted(set(document) - {"client"})
    if unknown:
        raise _error(f"{path}: unknown table or key {unknown[0]!r}; use [[client]] tables")
    entries = document.get("client")
    if not isinstance(entries, list) or not entries:
        raise _error(f"{path} has no [[client]] table")
    clients = tuple(_client(entry, f"{path}: client #{number}") for number, entry in enumerate(entries, 1))
    _refuse_duplicate_digests(clients, path)
    return clients


def _client(entry: object, where: str) -> Client:
    if not isinstance(entry, dict):
        raise _error(f"{where} must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _error(f"{where}: name is missing or empty")
    where = f"{where} ({name})"
    if unknown := sorted(set(entry) - FIELDS):
        raise _error(f"{where}: unknown field {unknown[0]!r}")
    return Client(name=name, digest=_digest(entry.get("key_sha256"), where),
                  tasks=_tasks(entry.get("tasks"), where), allow=_allow(entry.get("allow", list(SCOPES)), where),
                  quotas=_quotas(entry, where))


def _digest(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not HEX_DIGEST.fullmatch(value):
        raise _error(f"{where}: key_sha256 must be 64 hex digits (see `callnos-gateway hash-key`)")
    return bytes.fromhex(value)


def _tasks(value: object, where: str) -> frozenset[str] | None:
    if not isinstance(value, list) or not value:
        raise _error(f'{where}: tasks must be a non-empty list of task ids, or ["*"]')
    if not all(isinstance(task, str) and task.strip() for task in value):
        raise _error(f"{where}: every task id must be a non-empty string, such as \"1001\"")
    if ALL_TASKS in value:
        if len(value) > 1:
            raise _error(f'{where}: tasks ["*"] stands alone')
        return None
    return frozenset(value)


def _allow(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise _error(f"{where}: allow must be a non-empty list of {', '.join(SCOPES)}")
    for word in value:
        if word not in SCOPES:
            raise _error(f"{where}: unknown allow word {word!r}; use {', '.join(SCOPES)}")
    return frozenset(value)


def _quotas(entry: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """The quotas the entry names, each checked: one that cannot be read stops the start."""
    for name in QUOTA_NAMES:
        if name in entry and (problem := quota_problem(entry[name])):
            raise _error(f"{where}: {name} {problem}")
    return tuple((name, entry[name]) for name in QUOTA_NAMES if name in entry)


def _refuse_duplicate_digests(clients: tuple[Client, ...], path: str) -> None:
    seen: dict[bytes, int] = {}
    for number, client in enumerate(clients, 1):
        if client.digest in seen:
            raise _error(f"{path}: client #{number} ({client.name}) has the same key_sha256 as client #{seen[client.digest]}")
        seen[client.digest] = number


def _error(message: str) -> ConfigError:
    return ConfigError({SETTING: [message]})
