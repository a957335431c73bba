"""requirements.lock agrees with pyproject.toml (run `make lock` when it does not).

Every requirement pyproject.toml declares (runtime, every extra, the build
backend) must be pinned in the lock at a version its specifier allows, and
every pin must be exact and carry hashes, or `pip install --require-hashes`
would refuse it. A lock entry that says it came from pyproject.toml but is no
longer declared there is stale.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
FROM_PYPROJECT = "callnos-gateway (pyproject.toml)"


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    texts = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for extra in project["project"].get("optional-dependencies", {}).values():
        texts += extra
    return [Requirement(text) for text in texts]


def lock_entries() -> list[dict]:
    """Each pin of the lock: name, version, marker text, hashes and its `# via` block."""
    entries: list[dict] = []
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := PIN.match(line):
            marker = line.split(";", 1)[1].rstrip(" \\").strip() if ";" in line else ""
            entries.append({"name": canonicalize_name(match["name"]), "version": match["version"],
                            "marker": marker, "hashes": 0, "via": ""})
        elif entries and "--hash=sha256:" in line:
            entries[-1]["hashes"] += 1
        elif entries and line.strip().startswith("#"):
            entries[-1]["via"] += line
    return entries


def pinned() -> dict[str, str]:
    return {entry["name"]: entry["version"] for entry in lock_entries()}


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_every_declared_requirement_is_locked_at_an_allowed_version(requirement):
    locked = pinned()
    name = canonicalize_name(requirement.name)
    if requirement.marker is not None and not requirement.marker.evaluate() and name not in locked:
        return  # a platform-only dependency that the lock may leave out for this platform
    assert name in locked, f"{requirement} is declared but not in requirements.lock: run `make lock`"
    assert requirement.specifier.contains(locked[name], prereleases=True), (
        f"requirements.lock pins {name}=={locked[name]}, outside {requirement}: run `make lock`")


def test_every_pin_is_exact_unique_and_hashed():
    entries = lock_entries()
    assert len(entries) > 20, "the lock should hold the whole dependency tree"
    names = [(entry["name"], entry["marker"]) for entry in entries]
    assert len(names) == len(set(names))
    assert all(entry["hashes"] >= 1 for entry in entries), [e["name"] for e in entries if not e["hashes"]]


def test_no_pin_claims_pyproject_toml_without_being_declared_there():
    names = {canonicalize_name(requirement.name) for requirement in declared()}
    stale = [entry["name"] for entry in lock_entries() if FROM_PYPROJECT in entry["via"] and entry["name"] not in names]
    assert stale == [], f"no longer declared in pyproject.toml: {stale}; run `make lock`"


def test_the_installs_use_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile and "LOCK   := requirements.lock" in makefile
    assert "pip install --require-hashes -r requirements.lock" in (ROOT / "README.md").read_text()
