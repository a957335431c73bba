"""``callnos-gateway discover``: the paths the upstream reports, beside the configured ones.

Why: the upstream's interface-discovery call may report paths that match
none of the documented ones (the manual's sample: ``/iSales/getTask``), and
each ``CALLNOS_PATH_*`` must then be set by hand. This prints, per interface,
the setting, the configured path and the reported one, and marks those that
differ. It logs in if the settings say so, calls discovery only, and never
calls callnos (which would take records). Exit status: 0 every reported
path matches, 1 some differ, 2 the settings are bad, 3 the upstream failed.
"""

from __future__ import annotations

import argparse
import sys
import uuid

from callnos_gateway.upstream.api import UpstreamApi
from callnos_gateway.settings import load_settings
from callnos_gateway.errors import ConfigError, UpstreamError
from callnos_gateway.upstream.obs import INTERFACES
from callnos_gateway.upstream.obs.discovery import Discovered, our_name

HELP = "Print the paths the upstream's interface discovery reports beside the configured CALLNOS_PATH_* (never calls callnos)."
NOT_REPORTED = "-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: the settings come from the environment and CALLNOS_ENV_FILE, as for the server."""


def run(args: argparse.Namespace) -> int:
    """Ask the upstream, print the table, and say whether every path matches."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error.one_line(), file=sys.stderr)
        return 2
    try:
        discovered = UpstreamApi(settings).discover(f"discover-{uuid.uuid4().hex}").value
    except UpstreamError as error:
        print(f"discovery failed: {error.code}: {error.detail}", file=sys.stderr)
        return 3
    rows = table(settings.paths, discovered)
    print(render(rows, discovered.version))
    return 1 if any(differs(row) for row in rows) else 0


def differs(row: tuple[str, str, str, str]) -> bool:
    """A path of ours that the upstream reports otherwise."""
    setting, _, configured, reported = row
    return setting != NOT_REPORTED and reported not in (NOT_REPORTED, configured)


def table(configured: dict[str, str], discovered: Discovered) -> list[tuple[str, str, str, str]]:
    """Rows of (setting, interface, configured path, reported path), ours first, then the upstream's others."""
    reported = {our_name(key): path for key, path in discovered.paths.items() if our_name(key)}
    rows = [
        (interface.setting, interface.name, configured[interface.name], reported.get(interface.name, NOT_REPORTED))
        for interface in INTERFACES
    ]
    others = [(NOT_REPORTED, key, NOT_REPORTED, path) for key, path in sorted(discovered.paths.items()) if not our_name(key)]
    return rows + others


def render(rows: list[tuple[str, str, str, str]], version: str | None) -> str:
    """A plain aligned table; ``!=`` marks a reported path that differs from the configured one."""
    header = ("SETTING", "INTERFACE", "CONFIGURED", "REPORTED")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [f"upstream interface version: {version or 'not reported'}"]
    for row in [header, *rows]:
        mark = "!=" if row is not header and differs(row) else "  "
        lines.append(f"{mark} " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)
