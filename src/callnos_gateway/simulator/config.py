"""Settings of one simulator instance, validated once when it is built.

Why a frozen dataclass: the in-process fixtures (``Simulator(port=0, seed=2)``)
and the command line (``python -m callnos_gateway.simulator``, ``SIM_*`` variables) must end up
with the same, checked values, and nothing may change them while threads serve.
"""

from __future__ import annotations

from dataclasses import dataclass

SHAPES = ("mixed", "list", "single")
SPELLINGS = ("mixed", "doc", "fixed")
EXPIRY_FORMATS = ("mixed", "number", "string")
ENDPOINTS = ("login", "refresh", "callnos", "tasks", "isholiday", "result", "midresult", "discovery")
BUSINESS_TOKENS = ("token", "refresh_token")


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that shapes how the fake upstream behaves."""

    host: str = "127.0.0.1"
    port: int = 0
    prefix: str = ""
    user: str = "demo"
    password: str = "demo-password"
    token_ttl: float = 300
    refresh_ttl: float = 3600
    records_per_task: int = 100_000
    seed: int = 1
    shape: str = "mixed"
    spelling: str = "mixed"
    expiry_format: str = "mixed"
    auth_header: str = "Authorization"
    static_tokens: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()  # run faults, ``[endpoint=]spec``
    precomputed: bool = False
    max_batch_count: int = 10_000
    max_body_bytes: int = 1 << 20
    access_log: bool = False
    tasks: tuple[int, ...] = (1001, 1002, 4242)  # what business/tasks answers
    holidays: tuple[str, ...] = ("7",)  # holidayIds that are holidays; any other id is not
    business_token: str = "token"  # "refresh_token": business calls accept only refresh tokens
    invalidating_login: bool = False  # each login invalidates every earlier token of the user

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", normalise_prefix(self.prefix))
        object.__setattr__(self, "static_tokens", tuple(self.static_tokens))
        object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "holidays", tuple(str(h) for h in self.holidays))
        self._check_choices()
        self._check_numbers()

    def _check_choices(self) -> None:
        _choice("shape", self.shape, SHAPES)
        _choice("spelling", self.spelling, SPELLINGS)
        _choice("expiry_format", self.expiry_format, EXPIRY_FORMATS)
        _choice("business_token", self.business_token, BUSINESS_TOKENS)
        if not self.auth_header or any(c in self.auth_header for c in " :\r\n"):
            raise ValueError(f"auth_header: not a header name: {self.auth_header!r}")

    def _check_numbers(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: must be 0..65535, got {self.port}")
        for name in ("token_ttl", "refresh_ttl"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be > 0")
        if any(isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in self.tasks):
            raise ValueError("tasks: must be integers >= 0")
        for name in ("records_per_task", "max_batch_count", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1")


def normalise_prefix(prefix: str) -> str:
    """Return the path prefix as ``/a/b`` (or ``""``), whatever slashes it came with."""
    stripped = (prefix or "").strip().strip("/")
    return f"/{stripped}" if stripped else ""


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}: must be one of {', '.join(allowed)}; got {value!r}")
