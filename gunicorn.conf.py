"""gunicorn settings for callnos-gateway; every one can be overridden by environment.

Nothing here logs in or starts a thread: it is safe with and without
``preload_app``. The settings are validated once in the master, so a bad
``CALLNOS_*`` value stops the start with one line before any worker boots.
"""

import os
import sys


def _env(name, default, cast=str):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return cast(value)
    except ValueError:
        sys.stderr.write(f"callnos-gateway: invalid configuration: {name}: not a valid {cast.__name__}\n")
        raise SystemExit(3) from None


def _bool(value):
    return value.strip().lower() in ("1", "true", "yes", "on")


def _upstream_deadline():
    read = _env("CALLNOS_READ_TIMEOUT", 10.0, float)
    return _env("CALLNOS_TOTAL_TIMEOUT", read + 2.0, float)


bind = _env("GUNICORN_BIND", "127.0.0.1:8080").split(",")
workers = _env("GUNICORN_WORKERS", 2, int)
worker_class = "gthread"
threads = _env("GUNICORN_THREADS", 4, int)
# A worker must outlive the longest upstream exchange (connect retries included).
timeout = _env("GUNICORN_TIMEOUT", int(_upstream_deadline()) + 20, int)
graceful_timeout = _env("GUNICORN_GRACEFUL_TIMEOUT", int(_upstream_deadline()) + 5, int)
# Above the common 60 s load balancer idle timeout, so the balancer closes first.
keepalive = _env("GUNICORN_KEEPALIVE", 75, int)
max_requests = _env("GUNICORN_MAX_REQUESTS", 10000, int)
max_requests_jitter = _env("GUNICORN_MAX_REQUESTS_JITTER", 1000, int)
forwarded_allow_ips = _env("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
preload_app = _env("GUNICORN_PRELOAD", False, _bool)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = None  # the app writes its own JSON access line per request
errorlog = "-"
loglevel = _env("GUNICORN_LOG_LEVEL", "info")
proc_name = "callnos-gateway"
# gunicorn's control socket has one default path per user, so two instances on
# one host would collide: off unless a path is given.
control_socket = _env("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
if not control_socket:
    del control_socket


def on_starting(server):
    """Validate the settings in the master: one line naming the setting, no traceback."""
    from adapter.config import load_settings
    from adapter.errors import ConfigError

    try:
        settings = load_settings()
    except ConfigError as error:
        sys.stderr.write(f"callnos-gateway: {error.one_line()}\n")
        sys.stderr.flush()
        os._exit(3)
    upstream = settings.upstream_url
    server.log.info(
        "callnos-gateway starting: bind=%s workers=%s threads=%s timeout=%s keepalive=%s upstream=%s auth_mode=%s",
        ",".join(bind), workers, threads, timeout, keepalive, upstream, settings.auth_mode,
    )
