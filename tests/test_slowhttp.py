"""slowhttptest, an outside tool, against the shipped configuration: the short form of ``make attack``.

Each mode runs a few seconds at a tenth of its full size or less (``make
attack`` runs them at full size for 60 s each) while a normal client fetches
on fresh connections; one more run with a 2 s body timeout shows slow bodies
being answered 408 and closed. Loopback only, one mode at a time.
"""

from __future__ import annotations

import pytest

from slowhttp import MODES, attack, shipped_gateway

SECONDS = 8.0
SCALE = 0.08  # -H and -B: 320 connections, -X: 80
P99_LIMIT_MS = 1000.0


@pytest.fixture(scope="module")
def shipped():
    with shipped_gateway() as gateway:
        yield gateway


@pytest.mark.parametrize("flag", ["H", "B", "X"])
def test_a_normal_client_is_served_while_slowhttptest_runs(shipped, flag, tmp_path):
    result = attack(shipped.url, MODES[flag], SECONDS, SCALE, tmp_path / "slowhttptest.log")
    probe = result.probe
    print(f"-{flag}: {probe.row()}, slowhttptest held {result.connected}")
    assert result.connected >= 40  # the tool really held its connections open
    assert len(probe.latencies_ms) >= 20
    assert probe.statuses == {200: len(probe.latencies_ms)}, probe.row()
    assert probe.percentile(0.99) < P99_LIMIT_MS, probe.row()
    assert "WORKER TIMEOUT" not in shipped.log()


def test_slowhttptest_slow_bodies_are_answered_408_and_closed(tmp_path):
    with shipped_gateway(CALLNOS_BODY_TIMEOUT="2") as gateway:
        probe = attack(gateway.url, MODES["B"], SECONDS, 0.02, tmp_path / "slowhttptest.log").probe
        log = gateway.log()
    assert probe.statuses == {200: len(probe.latencies_ms)}, probe.row()
    assert log.count("request body late: 408, connection closed") >= 20
    assert "WORKER TIMEOUT" not in log
