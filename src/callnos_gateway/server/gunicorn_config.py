"""gunicorn settings for callnos-gateway; every one can be overridden by environment.

The ``CALLNOS_*`` settings are read and checked here, in the master, before
gunicorn writes a line: a bad one (or a bad ``GUNICORN_*`` value) stops the
start with one JSON line naming it and exit status 3. ``kill -HUP`` runs this
module again (gunicorn imports ``-c python:callnos_gateway.server.gunicorn_config``
with importlib, which would hand back the first run's module: ``when_ready``
and ``on_reload`` take it out of ``sys.modules``, so the next HUP reads it anew): the settings (the clients file too) are read again and handed to
the new workers (``callnos_gateway.server.handover``); a bad one then keeps the previous
settings and logs an error line naming it, so a typo causes no downtime.
Their timeouts size the worker timeouts. Nothing here logs in, connects or starts a thread, so it is
safe with and without ``preload_app``.

Workers: gevent, one greenlet per connection (``callnos_gateway/server/worker.py``), so idle,
slow and never-reading clients cannot starve the gateway (docs/API.md). The
worker patches itself after the fork; the master only when it preloads the app.

Logs: gunicorn's own lines go through the app's JSON formatter and secret
filter (``logconfig_dict``); its access log is off (the app writes its own).
Traces: the ``OTEL_*`` settings are checked here; each worker starts its own
tracer after the fork (``post_worker_init``) and sends what it holds at exit
(``callnos_gateway.telemetry.tracing``); the master never makes one.
Metrics: the multiprocess directory is prepared before any process imports
prometheus_client, and ``child_exit`` drops a dead worker's live gauges.
"""

import logging
import math
import os
import sys
import warnings

from dotenv import dotenv_values

OUTER_SETTINGS = ("GUNICORN_", "PROMETHEUS_MULTIPROC_DIR")


def _adopt_env_file():
    """Take GUNICORN_* and PROMETHEUS_MULTIPROC_DIR from CALLNOS_ENV_FILE too (the environment wins)."""
    path = os.environ.get("CALLNOS_ENV_FILE")
    if not path or not os.path.isfile(path):
        return  # load_settings names a missing file
    for name, value in dotenv_values(path).items():
        if name.startswith(OUTER_SETTINGS) and value is not None:
            os.environ.setdefault(name, value)


def _patch_master_for_preload():
    """With GUNICORN_PRELOAD=true the app is built here, in the master: patch for gevent first.

    Locks, thread-locals and the deadline watchdog's condition made before the
    patch would block a whole worker. Without preload the worker patches
    itself right after the fork (gunicorn's gevent worker), before the app is
    imported, and the master stays unpatched. gunicorn imported ``ssl`` for
    its own server-side TLS (unused here) before this file runs, hence the
    silenced warning; every client library is imported after the patch.
    """
    if os.environ.get("GUNICORN_PRELOAD", "").strip().lower() != "true":
        return
    from gevent import monkey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", monkey.MonkeyPatchWarning)
        monkey.patch_all()


_adopt_env_file()
_patch_master_for_preload()

from callnos_gateway.server import capacity, handover  # noqa: E402 (after the patch: see above)
from callnos_gateway.settings import load_settings  # noqa: E402
from callnos_gateway.errors import ConfigError  # noqa: E402
from callnos_gateway.telemetry import logs, metrics_dir, redact  # noqa: E402
from callnos_gateway.telemetry import tracing  # noqa: E402 (imports no OpenTelemetry code itself)

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _app_settings():
    """Read the settings; on a HUP, a bad one keeps the last good settings (callnos_gateway.server.handover)."""
    try:
        settings = load_settings()
    except ConfigError as error:
        if handover.kept() is None:
            logs.fatal(error.one_line(), settings=sorted(error.problems))
        logging.getLogger("callnos.start").error(
            "reload refused, the previous settings stay: %s", error.one_line(), extra={"settings": sorted(error.problems)})
        return handover.kept()
    handover.keep(settings)
    return settings


def _int(name, default, minimum=1):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        logs.fatal(f"invalid configuration: {name}: must be a whole number >= {minimum}", settings=[name])
    return int(text)


def _choice(name, default, allowed):
    value = os.environ.get(name, "").strip().lower() or default
    if value not in allowed:
        logs.fatal(f"invalid configuration: {name}: must be one of {', '.join(allowed)}", settings=[name])
    return value


def _metrics_dir():
    try:
        return metrics_dir.prepare()
    except OSError as error:
        name = metrics_dir.ENV
        logs.fatal(f"invalid configuration: {name}: cannot use it: {error.strerror}", settings=[name])


_settings = _app_settings()
redact.remember(*logs.secrets_of(_settings))
logging.captureWarnings(True)  # warnings in the master become JSON lines too
# The longest request: a login, then a callnos exchange, each within CALLNOS_TOTAL_TIMEOUT.
_longest_request = math.ceil(2 * _settings.total_timeout)

bind = (os.environ.get("GUNICORN_BIND") or "127.0.0.1:8080").split(",")
workers = _int("GUNICORN_WORKERS", 2)
# gevent, one greenlet per connection, with CALLNOS_HEADER_TIMEOUT (callnos_gateway/server/worker.py):
# idle, slow and never-reading clients cannot take the workers (docs/RELIABILITY.md).
worker_class = "callnos_gateway.server.worker.GatewayWorker"
# Connections per worker, within the open-files limit this start raises to the
# hard limit (callnos_gateway/server/capacity.py): a stock host's 1024 would
# refuse everyone once a flood of slow clients took them.
_open_files = capacity.raise_open_files_limit()
_wanted_connections = _int("GUNICORN_WORKER_CONNECTIONS", capacity.DEFAULT_WORKER_CONNECTIONS)
worker_connections = capacity.worker_connections(_wanted_connections, _open_files)
# Requests the app works on at once per worker (after their body is read): the
# same concurrency as gthread's threads had, for the upstream and the stores.
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", _longest_request + 10, minimum=math.ceil(_settings.total_timeout) + 1)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", _longest_request + 5)
# Above the common 60 s load balancer idle timeout, so the balancer closes first.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000, minimum=0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1000, minimum=0)
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
preload_app = _choice("GUNICORN_PRELOAD", "false", ("true", "false")) == "true"
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "callnos-gateway"
loglevel = _choice("GUNICORN_LOG_LEVEL", "info", LOG_LEVELS)
errorlog = "-"
accesslog = None
logconfig_dict = logs.logging_config(_settings.log_level, loglevel)
logger_class = "callnos_gateway.server.gunicorn_logger.GatewayLogger"  # no access atoms for a silent access log
# gunicorn's control socket has one default path per user, so two instances on
# one host would collide: off unless a path is given.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
if not control_socket:
    del control_socket
_metrics = _metrics_dir()


def _check_tracing():
    found = tracing.problems()
    if found:
        logs.fatal("invalid configuration: " + "; ".join(f"{name}: {why}" for name, why in found.items()),
                   settings=sorted(found))


_check_tracing()


def on_starting(server):
    """Log the effective settings in one line (no secret: ``describe`` leaves them out)."""
    cfg = server.cfg
    effective = {name: cfg.settings[name].get() for name in (
        "bind", "workers", "worker_class", "worker_connections", "threads", "timeout", "graceful_timeout", "keepalive",
        "max_requests", "max_requests_jitter", "preload_app", "forwarded_allow_ips", "loglevel",
    )}
    settings = _settings.describe()  # no secret; passwords in URLs masked
    server.log.info("callnos-gateway starting", extra={"gunicorn": effective, "settings": settings, "metrics_dir": _metrics})
    _log_open_files(server)


def _log_open_files(server):
    """Say what the open-files limit became, and whether it cut the worker connections."""
    files = {"before": _open_files.before, "soft": _open_files.soft, "hard": _open_files.hard}
    server.log.info("open files limit: %d (was %d, hard %d)", _open_files.soft, _open_files.before, _open_files.hard,
                    extra={"open_files": files, "worker_connections": worker_connections})
    if worker_connections < _wanted_connections:
        server.log.warning("worker connections cut to %d by the open files limit (%d wanted); raise the hard limit",
                           worker_connections, _wanted_connections, extra={"open_files": files})


def _read_anew_on_next_hup():
    """Let gunicorn's next config load (a HUP) run this module again instead of reusing this run."""
    sys.modules.pop(__name__, None)


def when_ready(server):
    """The master serves: a HUP from now on reads this module anew."""
    _read_anew_on_next_hup()


def on_reload(server):
    """On HUP with preload_app, load the app again before the new workers fork.

    Without preload each new worker imports ``callnos_gateway.wsgi``, which builds the app
    from the settings this file just read (``callnos_gateway.server.handover``); with it,
    gunicorn would fork them from the app it loaded at start, and ``kill
    -HUP`` would change nothing.
    """
    _read_anew_on_next_hup()
    if server.cfg.preload_app:
        sys.modules.pop("callnos_gateway.wsgi", None)
        server.app.callable = None
        server.app.wsgi()


def post_worker_init(worker):
    """Start this worker's tracer if OTEL_* asks for one: after the fork and gevent's patching, never in the master."""
    tracing.start()


def worker_exit(server, worker):
    """Send this worker's queued spans before it goes."""
    tracing.stop()


def child_exit(server, worker):
    """Drop a dead worker's live gauges (in-flight) from the metrics; its counters stay."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory if this start made it."""
    metrics_dir.remove_if_temporary()

