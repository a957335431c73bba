"""``python -m bench`` (``make bench``): the benchmark sections, the targets table, and JSON.

Bounded: about three minutes in all on a 2-core machine, loopback only, every
load capped in requests and seconds. Run it on a quiet machine; the load
average before and after is recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench import e2e, ledger, normalise, parser, report, tracing_cost
from bench.features import Variant
from bench.timing import machine

SECTIONS = ("e2e", "normalise", "parser", "tracing", "ledger")
DEFAULT_OUT = Path(__file__).with_name("results.json")


def main() -> None:
    args = _arguments()
    started = time.monotonic()
    results: dict = {"machine": machine()}
    for section in args.sections:
        print(f"== {section} ...", flush=True)
        results[section] = _run(section, args)
        print(_render(section, results[section]) + "\n", flush=True)
    results["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    results["seconds"] = round(time.monotonic() - started, 1)
    found = report.verdicts(results) + (ledger.verdicts(results["ledger"]) if "ledger" in results else [])
    results["verdicts"] = [{"target": t, "measured": m, "met": met} for t, m, met in found]
    _summarise(results)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out} in {results['seconds']} s")


def _arguments() -> argparse.Namespace:
    parser_ = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser_.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser_.add_argument("--rounds", type=int, default=None, help="rounds per measurement (medians over them)")
    parser_.add_argument("--against", type=_config_file, metavar="OLD.conf.py",
                         help="e2e: also run the bare pass-through and the gateway under this gunicorn config file, "
                              "taking turns with python:callnos_gateway.server.gunicorn_config (an A/B of two configs in one run)")
    parser_.add_argument("--variant", type=_variant, action="append", default=[], metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                         help="e2e: one more gateway with these environment changes, a row beside the default "
                              "(e.g. 'ledger off:CALLNOS_LEDGER=off', or 'main:PYTHONPATH=/tmp/main/src' for an A/B "
                              "of two source trees in one run); repeatable, added to bench/features.py's list")
    parser_.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    args = parser_.parse_args()
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser_.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    args.sections = args.sections or list(SECTIONS)
    return args


def _variant(text: str) -> Variant:
    """``NAME:KEY=VALUE[,KEY=VALUE]`` as a ``bench.features.Variant``."""
    name, colon, pairs = text.partition(":")
    env = dict(pair.split("=", 1) for pair in pairs.split(",") if "=" in pair)
    if not (name.strip() and colon and env) or len(env) != pairs.count(",") + 1:
        raise argparse.ArgumentTypeError(f"not NAME:KEY=VALUE[,KEY=VALUE]: {text}")
    return Variant(name.strip(), env)


def _config_file(text: str) -> Path:
    """An existing file, as an absolute path (gunicorn runs from the repository root)."""
    path = Path(text).resolve()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such config file: {text}")
    return path


def _run(section: str, args: argparse.Namespace):
    if section == "normalise":
        return normalise.run(args.rounds or 7)
    if section == "parser":
        return parser.run(args.rounds or 5)
    if section == "tracing":
        return tracing_cost.run(args.rounds or 7)
    if section == "ledger":
        return ledger.run(args.rounds or 5)
    return e2e.run(args.rounds or 3, args.against, tuple(args.variant))


def _render(section: str, result) -> str:
    renderers = {"normalise": report.normalise, "parser": report.parser, "e2e": report.e2e,
                 "tracing": tracing_cost.render, "ledger": ledger.render}
    return renderers[section](result)


def _summarise(results: dict) -> None:
    info = results["machine"]
    print(f"machine: {info['cores']} cores ({info['cpu']}), Python {info['python']}, "
          f"load average {info['load_average']} before, {results['load_average_after']} after")
    found = report.verdicts(results) + (ledger.verdicts(results["ledger"]) if "ledger" in results else [])
    rows = [[target, measured, "met" if met else "NOT met"] for target, measured, met in found]
    if rows:
        print("\n" + report.table(["target (realistic records decide)", "measured", "verdict"], rows))


if __name__ == "__main__":
    main()
