"""Command line of the simulator: flags, ``SIM_*`` variables, clean shutdown.

Why: ``make run`` and the load tests start the simulator as its own process,
configured per environment by variables, and stop it with SIGTERM. Every flag
has a variable (``--token-ttl`` -> ``SIM_TOKEN_TTL``); a flag beats its
variable, and a bad value of either stops the start with one clear line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any, Callable, Mapping, Sequence

from .config import BUSINESS_TOKENS, EXPIRY_FORMATS, SHAPES, SPELLINGS, SimulatorConfig
from .faults import parse_targeted
from .server import Simulator

def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.replace(",", " ").split())


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.replace(",", " ").split())


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# (flag, config field, type, help); the variable is SIM_ + the field, upper-cased
_OPTIONS: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("--host", "host", str, "address to bind (default 127.0.0.1: loopback only)"),
    ("--port", "port", int, "port to bind (default 8081; 0 picks a free one)"),
    ("--prefix", "prefix", str, "path prefix before /rest/isales/..."),
    ("--user", "user", str, "login user"),
    ("--password", "password", str, "login password"),
    ("--token-ttl", "token_ttl", float, "access token lifetime, seconds"),
    ("--refresh-ttl", "refresh_ttl", float, "refresh token lifetime, seconds"),
    ("--records-per-task", "records_per_task", int, "records queued per task"),
    ("--seed", "seed", int, "seed of the generated records"),
    ("--auth-header", "auth_header", str, "auth header name (Authorization or Authentication)"),
    ("--max-batch-count", "max_batch_count", int, "largest batchCount accepted"),
    ("--tasks", "tasks", _ints, "task ids business/tasks answers, comma-separated"),
    ("--holidays", "holidays", _words, "holidayIds that are holidays, comma-separated (others are not)"),
)

_CHOICES = (
    ("--shape", "shape", SHAPES, "one-record answers: alternate, always a list, or the record itself"),
    ("--spelling", "spelling", SPELLINGS, "seviceId/uiqueId (doc), serviceId/uniqueId (fixed), or varied"),
    ("--expiry-format", "expiry_format", EXPIRY_FORMATS, "token expirations as numbers, strings, or alternating"),
    ("--business-token", "business_token", BUSINESS_TOKENS, "which token business calls must carry"),
)


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in _TRUE | _FALSE:
        raise ValueError(f"not a boolean: {text!r}")
    return lowered in _TRUE


def _fault(text: str) -> str:
    parse_targeted(text)
    return text.strip()


def _from_env(env: Mapping[str, str], field: str, cast: Callable[[str], Any], default: Any) -> Any:
    name = f"SIM_{field.upper()}"
    if name not in env:
        return default
    try:
        return cast(env[name])
    except ValueError as problem:
        raise SystemExit(f"simulator: bad {name}: {problem}") from None


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """Build the argument parser, with defaults taken from ``SIM_*`` variables."""
    base = SimulatorConfig(port=8081)
    parser = argparse.ArgumentParser(
        prog="python -m callnos_gateway.simulator",
        description="Fake AICC iSales upstream (login, refresh, callnos, tasks, isholiday, write-backs, discovery).",
        epilog="Every flag can also be set by a variable: --token-ttl 60 is SIM_TOKEN_TTL=60; "
        "SIM_FAULT and SIM_STATIC_TOKEN take comma-separated lists. Fault kinds: ok, latency:MS, "
        "status:CODE, result:CODE, broken_json, wrong_shape[:0-2], huge:BYTES, drop, reset, "
        "timeout:SECONDS, drip:BYTES_PER_SECOND. Endpoints: login, refresh, callnos, tasks, isholiday, "
        "result, midresult, discovery.",
    )
    for flag, field, cast, text in _OPTIONS:
        default = _from_env(env, field, cast, getattr(base, field))
        parser.add_argument(flag, dest=field, type=cast, default=default, help=text)
    for flag, field, choices, text in _CHOICES:
        default = _from_env(env, field, str, getattr(base, field))
        parser.add_argument(flag, dest=field, choices=choices, default=default, help=text)
    _add_lists(parser, env)
    _add_switches(parser, env)
    return parser


def _add_lists(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    faults = [_fault(part) for part in env.get("SIM_FAULT", "").replace(",", " ").split()]
    parser.add_argument("--fault", dest="faults", action="append", type=_fault, default=None,
                        metavar="[ENDPOINT=]SPEC", help="run fault, e.g. callnos=status:500 (repeatable)")
    parser.set_defaults(env_faults=faults)
    tokens = env.get("SIM_STATIC_TOKEN", "").replace(",", " ").split()
    parser.add_argument("--static-token", dest="static_tokens", action="append", default=None,
                        help="an access token that never expires (repeatable)")
    parser.set_defaults(env_static_tokens=tokens)


def _add_switches(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    for flag, field, text in (("--precomputed", "precomputed", "serve cached answers (benchmarks)"),
                              ("--access-log", "access_log", "log every request to stderr"),
                              ("--invalidating-login", "invalidating_login",
                               "each login invalidates every earlier token and refresh token")):
        default = _from_env(env, field, _flag, False)
        parser.add_argument(flag, dest=field, action=argparse.BooleanOptionalAction, default=default, help=text)


def parse_config(argv: Sequence[str] | None, env: Mapping[str, str]) -> SimulatorConfig:
    """Turn flags and variables into a checked configuration (exit 2 if bad)."""
    parser = build_parser(env)
    args = vars(parser.parse_args(argv))
    env_faults, env_tokens = args.pop("env_faults"), args.pop("env_static_tokens")
    args["faults"] = tuple(args["faults"] if args["faults"] is not None else env_faults)
    args["static_tokens"] = tuple(args["static_tokens"] if args["static_tokens"] is not None else env_tokens)
    try:
        return SimulatorConfig(**args)
    except ValueError as problem:
        parser.error(str(problem))
        raise  # unreachable: parser.error exits


def main(argv: Sequence[str] | None = None) -> int:
    """Serve in the foreground until SIGTERM or SIGINT; return the exit code."""
    config = parse_config(argv, os.environ)
    simulator = Simulator(config)
    try:
        simulator.start()
    except OSError as problem:
        print(f"simulator: cannot listen on {config.host}:{config.port}: {problem}", file=sys.stderr)
        return 1
    print(f"simulator listening on {simulator.url}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    simulator.stop()
    return 0
