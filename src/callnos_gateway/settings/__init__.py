"""Settings: every ``CALLNOS_*`` variable, read and validated once at start.

The environment wins over the dotenv file named by ``CALLNOS_ENV_FILE``;
secrets may come from ``*_FILE`` variables so they never sit in the process
environment. Every problem is collected and reported together as one line per
setting, so a bad deploy stops with a message an operator can act on.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from environs import Env, EnvError, validate

from callnos_gateway.settings.clients import Client, load_clients_file
from callnos_gateway.errors import ConfigError
from callnos_gateway.settings.store_urls import (
    IDEMPOTENCY_DEFAULT_URL,
    LEDGER_DEFAULT_URL,
    TOKEN_STORE_DEFAULT_URL,
    shared_store_problem,
    token_store_problem,
)
from callnos_gateway.settings.upstream_paths import DOCUMENTED_PATHS, path_setting
from callnos_gateway.settings.quotas import QUOTA_URL_DEFAULT, quota_problem

PREFIX = "CALLNOS_"
AUTH_MODES = ("static", "login")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
BUSINESS_TOKENS = ("token", "refresh_token")
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_UPSTREAM_INT = 2**31 - 1


@dataclass(frozen=True)
class Settings:
    """Validated settings; secrets are kept out of ``repr`` so they never reach a log."""

    upstream_url: str
    auth_mode: str = "login"
    auth_header: str = "Authorization"
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    allow_anonymous: bool = False
    sub_cc_no: int | None = None
    vdn_id: int | None = None
    max_batch: int = 500
    max_body_bytes: int = 64 * 1024
    max_response_bytes: int = 8 * 1024 * 1024
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    total_timeout: float | None = None
    connect_retries: int = 2
    retry_backoff: float = 0.2
    ca_bundle: str | None = None
    pool_size: int = 16
    log_level: str = "INFO"
    idempotency_url: str | None = None  # None: the default SQLite file, filled in by __post_init__
    dead_letter_dir: str | None = "var/dead-letter"
    idempotency_ttl: int = 86400
    clients_file: str | None = None
    clients: tuple[Client, ...] = field(default=(), repr=False)  # from clients_file; digests only
    proxy_url: str | None = field(default=None, repr=False)  # may carry credentials
    paths: dict[str, str] = field(default_factory=DOCUMENTED_PATHS.copy)  # interface name -> path (CALLNOS_PATH_*)
    business_token: str = "token"
    time_format: str = DEFAULT_TIME_FORMAT
    time_zone: str = "UTC"
    token_store: str | None = None  # None: the default SQLite file, filled in by __post_init__
    ready_timeout: float = 2.0
    header_timeout: float = 10.0
    # Quotas and upstream protection (docs/API.md "Quotas and upstream protection").
    quota_requests: str | None = None  # default per-client quota; None: unlimited
    quota_records: str | None = None
    quota_url: str | None = None  # None: the default SQLite file; also holds upstream slots and the circuit
    upstream_concurrency: int = 10
    upstream_queue_timeout: float = 2.0
    breaker_failures: int = 5
    breaker_cooldown: float = 10.0
    ledger: bool = True  # CALLNOS_LEDGER=off turns the ledger off
    ledger_url: str | None = None  # None: the default SQLite file, filled in by __post_init__
    ledger_ttl: int = 7 * 86400
    body_timeout: float = 10.0  # a declared body must have arrived this long after the headers
    send_timeout: float = 30.0  # a client that reads nothing of its answer this long is closed

    def __post_init__(self) -> None:
        if self.total_timeout is None:
            object.__setattr__(self, "total_timeout", self.read_timeout + 2.0)
        object.__setattr__(self, "paths", {**DOCUMENTED_PATHS, **self.paths})  # tests may override a few
        # The stores' effective URLs, so logs and check-config show where state really lives.
        object.__setattr__(self, "idempotency_url", self.idempotency_url or IDEMPOTENCY_DEFAULT_URL)
        object.__setattr__(self, "token_store", self.token_store or TOKEN_STORE_DEFAULT_URL)
        object.__setattr__(self, "quota_url", self.quota_url or QUOTA_URL_DEFAULT)
        object.__setattr__(self, "ledger_url", self.ledger_url or LEDGER_DEFAULT_URL)
        check_consistency(self)

    @property
    def zone(self) -> ZoneInfo:
        """The zone write-back times are sent in (checked at start)."""
        return ZoneInfo(self.time_zone)

    @property
    def verify(self) -> str | bool:
        """Value for ``requests``' ``verify``: a CA file, or the system store."""
        return self.ca_bundle or True

    @property
    def proxies(self) -> dict[str, str]:
        """Value for ``requests``' ``proxies``: every upstream call through CALLNOS_PROXY_URL, if set."""
        return {"http": self.proxy_url, "https": self.proxy_url} if self.proxy_url else {}

    def __repr__(self) -> str:
        """The safe form only: a traceback or debug line that shows settings shows no secret."""
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self.describe().items())})"

    def describe(self) -> dict[str, Any]:
        """Return every setting in a form safe to log or print.

        Generic, so a setting added later is covered without a list to keep:
        a field declared ``repr=False`` is a secret (shown as ``***``, a
        collection of them as its size), and every URL loses its password.
        """
        safe = {f.name: _safe_value(getattr(self, f.name), secret=not f.repr) for f in fields(self)}
        safe["clients"] = sorted({client.label for client in self.clients})  # names, never digests
        safe["client_quotas"] = {client.label: dict(client.quotas) for client in self.clients if client.quotas}
        return safe

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the log filter: ``repr=False`` fields and URL credentials."""
        found: list[str] = []
        for f in fields(self):
            values = getattr(self, f.name)
            for value in values if isinstance(values, (tuple, list)) else (values,):
                if isinstance(value, str):
                    found += url_secrets(value) if "://" in value else ([value] if not f.repr else [])
        return tuple(found)


def _safe_value(value: Any, secret: bool) -> Any:
    if isinstance(value, str) and "://" in value:
        return without_password(value)
    if not secret or value is None:
        return value
    return len(value) if isinstance(value, (tuple, list)) else "***"


def url_secrets(url: str) -> list[str]:
    """The password of a URL, and the Basic credentials a client would derive from it."""
    parts = urlsplit(url)
    if not parts.password:
        return []
    basic = base64.b64encode(f"{unquote(parts.username or '')}:{unquote(parts.password)}".encode()).decode()
    return [parts.password, unquote(parts.password), basic]


def without_password(url: str | None) -> str | None:
    """Hide the password of a ``scheme://user:password@host`` URL, for logs."""
    if not url or "@" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def check_consistency(settings: Settings) -> None:
    """Refuse combinations of settings that cannot work, naming the setting."""
    problems: dict[str, str] = {}
    if settings.auth_mode == "static" and not settings.token:
        problems["TOKEN"] = "required when CALLNOS_AUTH_MODE=static (or CALLNOS_TOKEN_FILE)"
    if settings.auth_mode == "login":
        if not settings.username:
            problems["USERNAME"] = "required when CALLNOS_AUTH_MODE=login"
        if not settings.password:
            problems["PASSWORD"] = "required when CALLNOS_AUTH_MODE=login (or CALLNOS_PASSWORD_FILE)"
    if settings.api_keys and settings.clients_file:
        problems["CLIENTS_FILE"] = "set both CALLNOS_CLIENTS_FILE and CALLNOS_API_KEYS; the file replaces the keys"
    elif not settings.api_keys and not settings.clients and not settings.allow_anonymous:
        problems["API_KEYS"] = "no inbound key set; set keys, CALLNOS_CLIENTS_FILE or CALLNOS_ALLOW_ANONYMOUS=true"
    if settings.total_timeout is not None and settings.total_timeout < settings.read_timeout:
        problems["TOTAL_TIMEOUT"] = "must not be below CALLNOS_READ_TIMEOUT"
    if settings.idempotency_url and (store_problem := shared_store_problem(settings.idempotency_url)):
        problems["IDEMPOTENCY_URL"] = store_problem
    if settings.business_token not in BUSINESS_TOKENS:
        problems["BUSINESS_TOKEN"] = f"must be one of {', '.join(BUSINESS_TOKENS)}"
    if zone_problem := _time_zone_problem(settings.time_zone):
        problems["TIME_ZONE"] = zone_problem
    if format_problem := _time_format_problem(settings.time_format):
        problems["TIME_FORMAT"] = format_problem
    for name, path in settings.paths.items():
        if path_problem := _path_problem(path):
            problems["PATH_" + name.upper()] = path_problem
    if settings.token_store and (token_problem := token_store_problem(settings.token_store)):
        problems["TOKEN_STORE"] = token_problem
    problems.update(_protection_problems(settings))
    if settings.ledger_url and (ledger_problem := shared_store_problem(settings.ledger_url)):
        problems["LEDGER_URL"] = ledger_problem
    if problems:
        raise ConfigError({PREFIX + name: [text] for name, text in problems.items()})


def _protection_problems(settings: Settings) -> dict[str, str]:
    """The quota defaults and the store of quotas, slots and the circuit."""
    problems = {}
    for name in ("QUOTA_REQUESTS", "QUOTA_RECORDS"):
        text = getattr(settings, name.lower())
        if text is not None and (problem := quota_problem(text)):
            problems[name] = problem
    if settings.quota_url and (store_problem := token_store_problem(settings.quota_url)):
        problems["QUOTA_URL"] = store_problem
    return problems


def load_settings() -> Settings:
    """Read settings from the environment (and ``CALLNOS_ENV_FILE``) once."""
    env = Env(eager=False, expand_vars=True)
    env_file = os.environ.get(PREFIX + "ENV_FILE")
    if env_file:
        if not Path(env_file).is_file():
            raise ConfigError({PREFIX + "ENV_FILE": [f"no such file: {env_file}"]})
        env.read_env(env_file, recurse=False)
    with env.prefixed(PREFIX):
        values = _read_values(env)
    try:
        env.seal()
    except EnvError as error:
        raise ConfigError(_prefixed(getattr(error, "error_messages", {}))) from None
    values["log_level"] = values["log_level"].upper()
    values["token"] = _secret(values.pop("token"), values.pop("token_file"), "TOKEN")
    values["password"] = _secret(values.pop("password"), values.pop("password_file"), "PASSWORD")
    if values["clients_file"] and not values["api_keys"]:
        values["clients"] = load_clients_file(values["clients_file"])
    return Settings(**values)


def _read_values(env: Env) -> dict[str, Any]:
    """Declare every setting with its type, default and rule."""
    positive = validate.Range(min=0, min_inclusive=False)
    upstream_int = validate.Range(min=0, max=MAX_UPSTREAM_INT)
    return {
        "upstream_url": env.str("UPSTREAM_URL", validate=_http_url),
        "auth_mode": env.str("AUTH_MODE", "login", validate=validate.OneOf(AUTH_MODES)),
        "auth_header": env.str("AUTH_HEADER", "Authorization", validate=_header_name),
        "token": env.str("TOKEN", None),
        "token_file": env.str("TOKEN_FILE", None),
        "username": env.str("USERNAME", None),
        "password": env.str("PASSWORD", None),
        "password_file": env.str("PASSWORD_FILE", None),
        "api_keys": tuple(k.strip() for k in env.list("API_KEYS", []) if k.strip()),
        "allow_anonymous": env.bool("ALLOW_ANONYMOUS", False),
        "sub_cc_no": env.int("SUB_CC_NO", None, validate=upstream_int),
        "vdn_id": env.int("VDN_ID", None, validate=upstream_int),
        "max_batch": env.int("MAX_BATCH", 500, validate=validate.Range(min=1, max=100_000)),
        "max_body_bytes": env.int("MAX_BODY_BYTES", 64 * 1024, validate=validate.Range(min=256)),
        "max_response_bytes": env.int(
            "MAX_RESPONSE_BYTES", 8 * 1024 * 1024, validate=validate.Range(min=1024)
        ),
        "connect_timeout": env.float("CONNECT_TIMEOUT", 3.0, validate=positive),
        "read_timeout": env.float("READ_TIMEOUT", 10.0, validate=positive),
        "total_timeout": env.float("TOTAL_TIMEOUT", None, validate=positive),
        "connect_retries": env.int("CONNECT_RETRIES", 2, validate=validate.Range(min=0, max=10)),
        "retry_backoff": env.float("RETRY_BACKOFF", 0.2, validate=validate.Range(min=0, max=10)),
        "ca_bundle": env.str("CA_BUNDLE", None, validate=_existing_file),
        "pool_size": env.int("POOL_SIZE", 16, validate=validate.Range(min=1, max=1024)),
        "log_level": env.str("LOG_LEVEL", "INFO", validate=_log_level),
        "idempotency_url": env.str("IDEMPOTENCY_URL", None),
        "dead_letter_dir": env.str("DEAD_LETTER_DIR", "var/dead-letter") or None,
        "idempotency_ttl": env.int("IDEMPOTENCY_TTL", 86400, validate=validate.Range(min=1)),
        "clients_file": env.str("CLIENTS_FILE", None) or None,
        "proxy_url": env.str("PROXY_URL", None, validate=_proxy_url) or None,
        "paths": {name: env.str(path_setting(name).removeprefix(PREFIX), path) for name, path in DOCUMENTED_PATHS.items()},
        "business_token": env.str("BUSINESS_TOKEN", "token", validate=validate.OneOf(BUSINESS_TOKENS)),
        "time_format": env.str("TIME_FORMAT", DEFAULT_TIME_FORMAT),
        "time_zone": env.str("TIME_ZONE", "UTC"),
        "token_store": env.str("TOKEN_STORE", None) or None,
        "ready_timeout": env.float("READY_TIMEOUT", 2.0, validate=positive),
        "header_timeout": env.float("HEADER_TIMEOUT", 10.0, validate=positive),
        "body_timeout": env.float("BODY_TIMEOUT", 10.0, validate=positive),
        "send_timeout": env.float("SEND_TIMEOUT", 30.0, validate=positive),
        "ledger": env.bool("LEDGER", True),
        "ledger_url": env.str("LEDGER_URL", None) or None,
        "ledger_ttl": env.int("LEDGER_TTL", 7 * 86400, validate=validate.Range(min=1)),
        **_protection_values(env, positive),
    }


def _protection_values(env: Env, positive: validate.Range) -> dict[str, Any]:
    """Quotas, the upstream concurrency cap and the circuit breaker."""
    return {
        "quota_requests": env.str("QUOTA_REQUESTS", None) or None,
        "quota_records": env.str("QUOTA_RECORDS", None) or None,
        "quota_url": env.str("QUOTA_URL", None) or None,
        "upstream_concurrency": env.int("UPSTREAM_CONCURRENCY", 10, validate=validate.Range(min=1, max=10_000)),
        "upstream_queue_timeout": env.float("UPSTREAM_QUEUE_TIMEOUT", 2.0, validate=validate.Range(min=0, max=600)),
        "breaker_failures": env.int("BREAKER_FAILURES", 5, validate=validate.Range(min=1, max=10_000)),
        "breaker_cooldown": env.float("BREAKER_COOLDOWN", 10.0, validate=positive),
    }


def _secret(value: str | None, path: str | None, name: str) -> str | None:
    """Take a secret from ``CALLNOS_<name>`` or the file ``CALLNOS_<name>_FILE``."""
    if not path:
        return value or None
    if value:
        raise ConfigError({f"{PREFIX}{name}": [f"set both {PREFIX}{name} and {PREFIX}{name}_FILE"]})
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError({f"{PREFIX}{name}_FILE": [f"cannot read {path}: {error.__class__.__name__}"]}) from None
    if not secret:
        raise ConfigError({f"{PREFIX}{name}_FILE": [f"{path} is empty"]})
    return secret


def _time_zone_problem(name: str) -> str | None:
    """Say why ``name`` is not an IANA time zone this machine knows, or None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"not an IANA time zone name (such as UTC or Asia/Shanghai): {name!r}"
    return None


def _time_format_problem(text: str) -> str | None:
    """Say why ``text`` cannot format a time, or None."""
    if "%" not in text:
        return "must be a strftime format such as %Y-%m-%d %H:%M:%S"
    try:
        datetime(2001, 2, 3, 4, 5, 6).strftime(text)
    except ValueError as error:
        return f"not a strftime format: {error}"
    return None


def _path_problem(path: str) -> str | None:
    """Say why ``path`` cannot be an upstream path, or None."""
    if not path.startswith("/") or any(c.isspace() or c in "?#" for c in path):
        return "must be a URL path starting with / (no spaces, query or fragment)"
    return None


def _http_url(value: str) -> bool:
    if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
        raise validate.ValidationError("must be an http:// or https:// URL")
    return True


def _proxy_url(value: str) -> bool:
    """An ``http://[user:password@]host[:port]`` proxy; the message never repeats the value."""
    if not value:
        return True
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme != "http" or not parts.hostname or not port_ok or parts.path not in ("", "/") or parts.query:
        raise validate.ValidationError("must be an http://[user:password@]host:port proxy URL")
    return True


def _header_name(value: str) -> bool:
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise validate.ValidationError("must be an HTTP header name such as Authorization")
    return True


def _log_level(value: str) -> bool:
    if value.upper() not in LOG_LEVELS:
        raise validate.ValidationError(f"must be one of {', '.join(LOG_LEVELS)}")
    return True


def _existing_file(value: str) -> bool:
    if not Path(value).is_file():
        raise validate.ValidationError(f"no such file: {value}")
    return True


def _prefixed(messages: dict[str, list[str]]) -> dict[str, list[str]]:
    return {(k if k.startswith(PREFIX) else PREFIX + k): v for k, v in messages.items()}
