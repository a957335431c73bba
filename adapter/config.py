"""Settings: every ``CALLNOS_*`` variable, read and validated once at start.

The environment wins over the dotenv file named by ``CALLNOS_ENV_FILE``;
secrets may come from ``*_FILE`` variables so they never sit in the process
environment. Every problem is collected and reported together as one line per
setting, so a bad deploy stops with a message an operator can act on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from environs import Env, EnvError, validate

from adapter.errors import ConfigError
from adapter.idempotency import store_url_problem

PREFIX = "CALLNOS_"
AUTH_MODES = ("static", "login")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
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
    idempotency_url: str | None = None
    dead_letter_dir: str | None = "var/dead-letter"
    idempotency_ttl: int = 86400
    header_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.total_timeout is None:
            object.__setattr__(self, "total_timeout", self.read_timeout + 2.0)
        check_consistency(self)

    @property
    def verify(self) -> str | bool:
        """Value for ``requests``' ``verify``: a CA file, or the system store."""
        return self.ca_bundle or True

    def describe(self) -> dict[str, Any]:
        """Return the settings that are safe to log: no secret, no key."""
        hidden = {"token", "password", "api_keys"}
        safe = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}
        safe["api_keys"] = len(self.api_keys)
        for name in ("upstream_url", "idempotency_url"):
            safe[name] = without_password(safe[name])
        return safe


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
    if not settings.api_keys and not settings.allow_anonymous:
        problems["API_KEYS"] = "no inbound key set; set keys or CALLNOS_ALLOW_ANONYMOUS=true"
    if settings.total_timeout is not None and settings.total_timeout < settings.read_timeout:
        problems["TOTAL_TIMEOUT"] = "must not be below CALLNOS_READ_TIMEOUT"
    if settings.idempotency_url and (store_problem := store_url_problem(settings.idempotency_url)):
        problems["IDEMPOTENCY_URL"] = store_problem
    if problems:
        raise ConfigError({PREFIX + name: [text] for name, text in problems.items()})


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
        "header_timeout": env.float("HEADER_TIMEOUT", 10.0, validate=positive),
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


def _http_url(value: str) -> bool:
    if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
        raise validate.ValidationError("must be an http:// or https:// URL")
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
