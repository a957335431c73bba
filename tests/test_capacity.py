"""The open-files limit is raised by the server itself at start, and the worker connections fit in it."""

from __future__ import annotations

import resource
import subprocess
import sys

from callnos_gateway.server import capacity
from servers import GUNICORN_COMMAND, gunicorn_process, json_lines, worker_pids

STOCK_SOFT_LIMIT = 1024


def limits_after_raise(soft: int, hard: int | None = None) -> list[int]:
    """Start a fresh process with the given limits (as a stock host would), raise, report before/soft/hard."""
    def stock_limits():
        current_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, current_hard if hard is None else hard))

    code = ("from callnos_gateway.server import capacity; f = capacity.raise_open_files_limit(); "
            "print(f.before, f.soft, f.hard)")
    done = subprocess.run([sys.executable, "-c", code], preexec_fn=stock_limits, capture_output=True, text=True,
                          timeout=60, check=True)
    return [int(n) for n in done.stdout.split()]


def test_a_stock_soft_limit_is_raised_to_the_hard_limit():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    before, soft, hard_after = limits_after_raise(STOCK_SOFT_LIMIT)
    assert before == STOCK_SOFT_LIMIT and hard_after == hard
    assert soft == (hard if hard != resource.RLIM_INFINITY else capacity.UNLIMITED_TARGET) > STOCK_SOFT_LIMIT


def test_a_hard_limit_of_1024_leaves_it_as_it_is():
    assert limits_after_raise(STOCK_SOFT_LIMIT, STOCK_SOFT_LIMIT) == [STOCK_SOFT_LIMIT] * 3


def test_worker_connections_fit_in_the_open_files_limit():
    roomy = capacity.OpenFiles(before=1024, soft=65536, hard=65536)
    tight = capacity.OpenFiles(before=1024, soft=1024, hard=1024)
    assert capacity.worker_connections(capacity.DEFAULT_WORKER_CONNECTIONS, roomy) == capacity.DEFAULT_WORKER_CONNECTIONS
    assert capacity.worker_connections(capacity.DEFAULT_WORKER_CONNECTIONS, tight) == 1024 - capacity.RESERVED_FILES


STATIC_ENV = {"CALLNOS_UPSTREAM_URL": "http://127.0.0.1:9", "CALLNOS_AUTH_MODE": "static", "CALLNOS_TOKEN": "t0ken",
              "CALLNOS_API_KEYS": "capacity-key"}


def under_limits(limits: str) -> str:
    """The shipped start command, run under ``ulimit`` flags (a stock host's service manager)."""
    return f"bash -c 'ulimit {limits} && exec {GUNICORN_COMMAND}'"


def soft_open_files(pid: int) -> int:
    line = next(line for line in open(f"/proc/{pid}/limits") if line.startswith("Max open files"))
    return int(line.split()[3])


def started_line(log: str) -> dict:
    return next(line for line in json_lines(log) if line.get("message", "").startswith("open files limit"))


def test_gunicorn_raises_a_stock_soft_limit_itself_and_logs_it(tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with gunicorn_process(tmp_path, STATIC_ENV, workers=2, command=under_limits(f"-Sn {STOCK_SOFT_LIMIT}")) as gateway:
        workers = worker_pids(gateway.process.pid)
        assert workers and all(soft_open_files(pid) == hard for pid in [gateway.process.pid, *workers])
        line = started_line(gateway.log())
    assert line["open_files"] == {"before": STOCK_SOFT_LIMIT, "soft": hard, "hard": hard}
    assert line["worker_connections"] == min(capacity.DEFAULT_WORKER_CONNECTIONS, hard - capacity.RESERVED_FILES)


def test_gunicorn_on_a_hard_limit_of_1024_cuts_the_worker_connections_and_says_so(tmp_path):
    limits = f"-Hn {STOCK_SOFT_LIMIT} -Sn {STOCK_SOFT_LIMIT}"
    with gunicorn_process(tmp_path, STATIC_ENV, workers=1, command=under_limits(limits)) as gateway:
        log = gateway.log()
    assert started_line(log)["worker_connections"] == STOCK_SOFT_LIMIT - capacity.RESERVED_FILES
    assert "worker connections cut to 768 by the open files limit" in log
