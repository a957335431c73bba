"""The idempotency stores the tests run on, and a plain notice when Redis was not one.

Why: the same suite must pass on the SQLite and the Redis store. Redis needs
a ``redis-server`` binary. In CI (``CI`` set, ``.ci/run`` installs it) a
missing binary fails the Redis tests; on a developer machine they are skipped,
and the end of the run says so in one line instead of passing silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from redis_server import NOT_FOUND, redis_binary, redis_server


def in_ci() -> bool:
    """Tell whether this run is CI, where every store must be tested."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One redis-server for the session (skipped, or failed in CI, without the binary)."""
    if redis_binary() is None:
        if in_ci():
            pytest.fail("redis-server not found: CI must test the Redis store (see .ci/run)")
        pytest.skip(NOT_FOUND)
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """CALLNOS_IDEMPOTENCY_URL of an empty store: a SQLite file, or a flushed Redis db."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/idempotency.sqlite3"
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly, at the end of the run, that the Redis store went untested."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any(NOT_FOUND in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_line(NOT_FOUND, yellow=True, bold=True)
