"""``python -m bench`` imports and parses its arguments, ``--against`` included.

Why: the bench is run by hand, rarely, and nothing else imports it; an A/B
script that imported a removed module (``bench.drivers``) stayed broken
unnoticed. These start no server (seconds, not minutes).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_help_names_the_a_b_option():
    done = bench("--help")
    assert done.returncode == 0, done.stderr
    assert "--against OLD.conf.py" in done.stdout


def test_a_missing_config_file_is_refused_in_one_line_before_any_server_starts():
    done = bench("e2e", "--rounds", "1", "--against", "/nonexistent/old.conf.py")
    assert done.returncode == 2
    assert "argument --against: no such config file: /nonexistent/old.conf.py" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_section_is_refused():
    done = bench("nonsense")
    assert done.returncode == 2
    assert "unknown section(s): nonsense" in done.stderr


def test_the_a_b_section_renders_from_a_result(tmp_path):
    """The A/B table is built from the shape ``e2e.run`` returns (a typo in a key fails here)."""
    code = ("from bench import report\n"
            "cell = lambda: {'p50_ms': 2.0, 'p99_ms': 3.0, 'cpu_ms_per_request': 1.0, 'requests': 9}\n"
            "speed = lambda: {'records_per_s': 100.0, 'by_round': [100.0], 'cpu_ms_per_request': 1.0,\n"
            "                 'waiting_for_cpu_cores': 0.1, 'failed': 0}\n"
            "names = ('upstream', 'bare', 'gateway', 'bare_against', 'gateway_against')\n"
            "lat = {n: cell() for n in names} | {'json_round_trip_ms': 0.5}\n"
            "result = {'latency': {'realistic': {1: lat}}, 'throughput_by_size': {1: {n: speed() for n in names}},\n"
            "          'gunicorn': {'worker_class': 'A'}, 'against': {'config': 'old.conf.py',\n"
            "          'gunicorn': {'worker_class': 'B'}}, 'clients': 16}\n"
            "print(report.against(result))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "old.conf.py" in done.stdout and "| 1 " in done.stdout
