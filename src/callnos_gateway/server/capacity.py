"""How many connections a worker can hold: the open-files limit, raised at start, and the pool sized to it.

Why: under gevent a connection costs a greenlet and one file descriptor, so
what bounds the connections a worker can hold (idle, slow or flooding
clients, and the normal ones among them) is ``GUNICORN_WORKER_CONNECTIONS``
and the process's open-files limit. A stock host starts a service with a
soft limit of 1024: past it every accept fails (EMFILE) and normal clients
are refused with the rest. The soft limit may be raised up to the hard limit
without privileges, so the server does it itself at start (the workers
inherit it), and a worker never takes more connections than the limit
leaves room for.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

DEFAULT_WORKER_CONNECTIONS = 5000  # per worker: slowhttptest's floods at 300 new connections a second, with room
RESERVED_FILES = 256  # per worker, beside its connections: the listener, stores, upstream pool, logs, metrics
UNLIMITED_TARGET = 1 << 20  # what to ask for when the hard limit is "unlimited"


@dataclass(frozen=True)
class OpenFiles:
    """The open-files limit before and after the start raised it."""

    before: int
    soft: int
    hard: int

    def room_for_connections(self) -> int:
        return max(1, self.soft - RESERVED_FILES)


def raise_open_files_limit() -> OpenFiles:
    """Raise the soft RLIMIT_NOFILE to the hard limit (never lower it); what it got."""
    before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if before != resource.RLIM_INFINITY and target > before:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # kept as it was; the pool is sized to what there is
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return OpenFiles(before, soft, hard)


def worker_connections(wanted: int, files: OpenFiles) -> int:
    """``wanted`` connections per worker, or fewer if the open-files limit leaves no room for them."""
    return min(wanted, files.room_for_connections())
