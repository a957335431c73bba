"""``callnos-gateway hash-key``: print the SHA-256 digest of a key read on stdin.

The clients file (``CALLNOS_CLIENTS_FILE``) holds digests, never keys: pipe a
new key in and paste the printed line into its ``key_sha256``. One trailing
newline is dropped (``echo`` and editors add one); a terminal gets a prompt
that does not echo the key. A key must be visible ASCII, as an HTTP header
carries it unchanged; anything else could never match and is refused.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from callnos_gateway.settings.clients import key_digest

HELP = "Print the hex SHA-256 of a key read on stdin, for key_sha256 in the clients file."
MIN_LENGTH = 16  # shorter keys work but are easy to guess: warn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the key comes on stdin so it never shows in a process list or shell history."""


def run(args: argparse.Namespace) -> int:
    """Read one key, print its digest; exit 2 (and say why) for a key that cannot work."""
    key = _read_key()
    problem = key_problem(key)
    if problem:
        print(f"hash-key: {problem}", file=sys.stderr)
        return 2
    if len(key) < MIN_LENGTH:
        print(f"hash-key: warning: a key under {MIN_LENGTH} characters is easy to guess", file=sys.stderr)
    print(key_digest(key).hex())
    return 0


def key_problem(key: str) -> str | None:
    """Say why ``key`` cannot be sent in ``X-API-Key``, or None."""
    if not key:
        return "no key on stdin"
    if not all("!" <= char <= "~" for char in key):
        return "a key must be visible ASCII (no spaces, control or non-ASCII characters)"
    return None


def _read_key() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Key (not echoed): ")
    text = sys.stdin.read()
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
