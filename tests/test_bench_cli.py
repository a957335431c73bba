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


# The shapes ``e2e.run`` returns: one latency cell, one throughput cell.
CELLS = ("from bench import report\n"
         "cell = lambda cpu=1.0: {'p50_ms': 2.0, 'p99_ms': 3.0, 'cpu_ms_per_request': cpu, 'requests': 9}\n"
         "speed = lambda: {'records_per_s': 100.0, 'by_round': [100.0], 'cpu_ms_per_request': 1.0,\n"
         "                 'waiting_for_cpu_cores': 0.1, 'failed': 0}\n")


def render(code: str) -> str:
    """Run ``CELLS + code`` in a fresh interpreter; its output."""
    done = subprocess.run([sys.executable, "-c", CELLS + code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_a_b_section_renders_from_a_result():
    """The A/B table is built from the shape ``e2e.run`` returns (a typo in a key fails here)."""
    out = render("names = ('upstream', 'bare', 'gateway', 'bare_against', 'gateway_against')\n"
                 "lat = {n: cell() for n in names} | {'json_round_trip_ms': 0.5}\n"
                 "result = {'latency': {'realistic': {1: lat}}, 'throughput_by_size': {1: {n: speed() for n in names}},\n"
                 "          'gunicorn': {'worker_class': 'A'}, 'against': {'config': 'old.conf.py',\n"
                 "          'gunicorn': {'worker_class': 'B'}}, 'clients': 16}\n"
                 "print(report.against(result))\n")
    assert "old.conf.py" in out and "| 1 " in out


def test_the_cpu_figures_and_a_feature_variant_render_from_a_result():
    """The CPU table, the feature-variant rows and the CPU verdicts are built from ``e2e.run``'s shape."""
    out = render("from bench.features import Variant\n"
                 "target = Variant('ledger off', {'CALLNOS_LEDGER': 'off'}).target\n"
                 "lat = {'upstream': cell(0.1), 'bare': cell(1.0), 'gateway': cell(3.0), target: cell(2.5),\n"
                 "       'json_round_trip_ms': 0.5, 'json_round_trip_cpu_ms': 1.0}\n"
                 "sizes = {str(size): lat for size in (1, 100, 1000)}\n"
                 "result = {'latency': {'realistic': sizes, 'mix': sizes}, 'clients': 16,\n"
                 "          'throughput': {m: {n: speed() for n in ('upstream', 'bare', 'gateway', target)}\n"
                 "                         for m in ('realistic', 'mix')},\n"
                 "          'variants': {target: {'name': 'ledger off', 'env': {'CALLNOS_LEDGER': 'off'}}}}\n"
                 "print(report.cpu_table(result, 'realistic'))\n"
                 "print(report.variants(result))\n"
                 "print(report.cpu_verdicts(result))\n")
    assert "| 1000    | 1.00     | 3.00        | 2.00        | 1.000" in out
    assert "| ledger off | 1000" in out and "+0.50" in out
    assert "gateway_ledger-off" not in out and "2.00x (mix: 2.00x)" in out


def test_a_malformed_variant_is_refused_in_one_line():
    done = bench("e2e", "--variant", "no-env-here")
    assert done.returncode == 2
    assert "argument --variant: not NAME:KEY=VALUE[,KEY=VALUE]: no-env-here" in done.stderr
    assert "Traceback" not in done.stderr
