"""The multiprocess metrics directory: fresh at each start, kept across a config reload."""

from __future__ import annotations

import os
from pathlib import Path

from callnos_gateway.telemetry import metrics_dir


def test_without_a_directory_a_temporary_one_is_made_and_removed_at_exit():
    environ: dict[str, str] = {}
    path = Path(metrics_dir.prepare(environ))
    assert path.is_dir() and not any(path.iterdir()) and environ[metrics_dir.ENV] == str(path)
    metrics_dir.remove_if_temporary(environ)
    assert not path.exists()


def test_a_given_directory_is_emptied_of_old_metric_files_only(tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "README").write_text("not ours")
    environ = {metrics_dir.ENV: str(tmp_path)}
    assert metrics_dir.prepare(environ) == str(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["README"]
    metrics_dir.remove_if_temporary(environ)
    assert tmp_path.is_dir()  # ops' directory stays


def test_a_missing_given_directory_is_created(tmp_path):
    target = tmp_path / "a" / "b"
    metrics_dir.prepare({metrics_dir.ENV: str(target)})
    assert target.is_dir()


def test_a_config_reload_in_the_same_master_keeps_the_live_files(tmp_path):
    environ = {metrics_dir.ENV: str(tmp_path)}
    metrics_dir.prepare(environ)
    (tmp_path / "counter_456.db").write_bytes(b"live")
    metrics_dir.prepare(environ)  # gunicorn re-reads python:callnos_gateway.server.gunicorn_config on HUP
    assert (tmp_path / "counter_456.db").exists()
    environ[metrics_dir.OWNER] = f"{os.getpid() + 1}:given"  # another master: a new start
    metrics_dir.prepare(environ)
    assert not (tmp_path / "counter_456.db").exists()
