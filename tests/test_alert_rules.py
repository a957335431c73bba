"""The Prometheus alert rules: valid, and each one pinned by ``promtool test rules`` cases.

promtool is Debian's (``prometheus`` package; CI installs it). Every alert
must have a case where it fires and one where it stays quiet, so a rule
cannot be added, or loosened into silence, without a test saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict

import yaml

from bench.dashboard import ALERTS

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
ALERT_TESTS = ALERTS.with_name("alerts_test.yml")
CONDITIONS = {  # what an operator must hear of, and the alert that says it
    "upstream errors": "CallnosUpstreamErrors",
    "circuit open": "CallnosCircuitOpen",
    "quota refusals": "CallnosQuotaRefusals",
    "token-store fallback": "CallnosTokenStoreFallback",
    "oldest open record older than an hour": "CallnosOpenRecordTooOld",
    "no batch fetched for a while": "CallnosNoBatchFetched",
}


def promtool(*args: str, cwd=ALERTS.parent) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def declared_alerts() -> list[str]:
    return [rule["alert"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules():
    done = promtool("check", "rules", ALERTS.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(declared_alerts())} rules found" in done.stdout


def test_promtool_unit_tests_pass():
    done = promtool("test", "rules", ALERT_TESTS.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_unit_tests_can_fail(tmp_path):
    """A case expecting silence where an alert fires makes promtool fail: the cases are really checked."""
    cases = yaml.safe_load(ALERT_TESTS.read_text())
    case = cases["tests"][0]
    firing = next(check for check in case["alert_rule_test"] if check["exp_alerts"])
    firing["exp_alerts"] = []
    shutil.copy(ALERTS, tmp_path / ALERTS.name)
    (tmp_path / "broken_test.yml").write_text(yaml.safe_dump({**cases, "tests": [case]}))
    done = promtool("test", "rules", "broken_test.yml", cwd=tmp_path)
    assert done.returncode != 0 and "FAILED" in done.stdout + done.stderr


def test_each_condition_has_its_alert_and_each_alert_fires_and_stays_quiet_in_a_case():
    assert sorted(CONDITIONS.values()) == sorted(declared_alerts())
    outcomes: dict[str, set[bool]] = defaultdict(set)
    for case in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            outcomes[check["alertname"]].add(bool(check["exp_alerts"]))
    assert {name: outcomes[name] for name in declared_alerts()} == {name: {True, False} for name in declared_alerts()}
