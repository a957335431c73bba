"""``callnos-gateway hash-key`` and the clients files shipped in envs/ (CONTRACT 10)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from callnos_gateway.settings.clients import ClientRing, load_clients_file
from callnos_gateway.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
COMMAND = Path(sys.executable).parent / "callnos-gateway"
LOCAL_KEY = "local-dev-key"


def hash_key(stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([str(COMMAND), "hash-key"], input=stdin, capture_output=True, timeout=30)


@pytest.mark.parametrize("stdin", [b"k3y-0f-the-dialer-east-app", b"k3y-0f-the-dialer-east-app\n",
                                   b"k3y-0f-the-dialer-east-app\r\n"])
def test_it_prints_the_hex_digest_of_the_key_without_its_newline(stdin):
    result = hash_key(stdin)
    assert result.returncode == 0 and result.stderr == b""
    assert result.stdout.decode() == hashlib.sha256(b"k3y-0f-the-dialer-east-app").hexdigest() + "\n"


@pytest.mark.parametrize("stdin, says", [
    (b"", b"no key on stdin"),
    (b"\n", b"no key on stdin"),
    ("ключ-of-the-dialer".encode(), b"visible ASCII"),
    (b"two words-of-a-long-key", b"visible ASCII"),
    (b"tab\tin-a-long-key-here", b"visible ASCII"),
    (b"line\nbreak-in-a-long-key\n", b"visible ASCII"),
])
def test_a_key_that_could_never_match_is_refused(stdin, says):
    result = hash_key(stdin)
    assert result.returncode == 2 and result.stdout == b"" and says in result.stderr


def test_a_short_key_is_hashed_with_a_warning():
    result = hash_key(b"short")
    assert result.returncode == 0 and b"easy to guess" in result.stderr
    assert result.stdout.strip() == hashlib.sha256(b"short").hexdigest().encode()


def test_the_printed_digest_is_what_the_gateway_matches(tmp_path):
    digest = hash_key(b"rotated-key-3c9d0e1f27\n").stdout.decode().strip()
    path = tmp_path / "clients.toml"
    path.write_text(f'[[client]]\nname = "app"\nkey_sha256 = "{digest}"\ntasks = ["*"]\n')
    assert ClientRing(load_clients_file(str(path))).find("rotated-key-3c9d0e1f27").name == "app"


def test_make_run_serves_a_named_client_for_the_key_its_curl_prints(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CALLNOS_ENV_FILE", "envs/local.env")
    settings = load_settings()
    assert settings.clients_file and not settings.api_keys
    assert ClientRing(settings.clients).find(LOCAL_KEY).name == "local-dialer"
    script = (ROOT / "scripts" / "run-local").read_text()
    assert re.search(r"API_KEY=\$\{API_KEY:-" + LOCAL_KEY + r"\}", script)
    assert f"X-API-Key: {LOCAL_KEY}" in (ROOT / "README.md").read_text()


def test_the_example_clients_file_loads():
    clients = load_clients_file(str(ROOT / "envs" / "clients.example.toml"))
    assert [client.name for client in clients] == ["dialer-east", "reporting"]
