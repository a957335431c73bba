"""The directory prometheus-client's multiprocess mode shares between workers.

Each gunicorn worker writes its metric values to files in one directory, and
``/metrics`` adds them up. The master must set ``PROMETHEUS_MULTIPROC_DIR``
before any process imports prometheus_client (the library picks its value
class at import), and the directory must start empty: files left by an
earlier run would add old counts to new ones. No prometheus_client import
here, for that reason.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
OWNER = "CALLNOS_GATEWAY_METRICS_OWNER"  # "<master pid>:temp" or "<master pid>:given"
PREFIX = "callnos-gateway-metrics-"
SHM = "/dev/shm"


def prepare(environ: MutableMapping[str, str] = os.environ) -> str:
    """Give this master an empty metrics directory, once (a config reload keeps it)."""
    path = environ.get(ENV)
    if path and environ.get(OWNER, "").split(":")[0] == str(os.getpid()):
        return path  # same master re-reading its config: live workers still write here
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        empty(path)
        kind = "given"
    else:
        path = tempfile.mkdtemp(prefix=PREFIX, dir=SHM if os.path.isdir(SHM) else None)
        kind = "temp"
    environ[ENV], environ[OWNER] = path, f"{os.getpid()}:{kind}"
    return path


def empty(path: str) -> None:
    """Remove the metric files of an earlier run (only ``*.db``: the directory may be shared)."""
    for stale in Path(path).glob("*.db"):
        stale.unlink()


def remove_if_temporary(environ: MutableMapping[str, str] = os.environ) -> None:
    """At master exit, delete the directory if ``prepare`` made it."""
    path, owner = environ.get(ENV), environ.get(OWNER, "")
    if path and owner == f"{os.getpid()}:temp":
        shutil.rmtree(path, ignore_errors=True)
