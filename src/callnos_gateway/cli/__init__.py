"""The ``callnos-gateway`` command: operator tools beside the server.

Each subcommand lives in a module of its own in this package, exposing
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
``COMMANDS`` maps a subcommand's name to its module; nothing is imported
until a subcommand is chosen, so a tool never pays for the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {
    "check-config": "callnos_gateway.cli.check_config",
    "discover": "callnos_gateway.cli.discover",
    "hash-key": "callnos_gateway.cli.hash_key",
    "ledger": "callnos_gateway.cli.ledger",
}


def build_parser() -> argparse.ArgumentParser:
    """Make the top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(prog="callnos-gateway", description="Operator tools of callnos-gateway.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in sorted(COMMANDS.items()):
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; its return value is the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
