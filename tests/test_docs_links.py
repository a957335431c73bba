"""README.md and docs/ stand alone: every link resolves inside the repository.

A stranger with a clone and nothing else must be able to follow every link.
So a link may name a file of the repository (relative, never leaving it) and
an anchor that exists in it; the only absolute URLs allowed are those of the
gateway the reader runs on loopback (``http://127.0.0.1:8080/docs``). Code
spans and code blocks are not links. Anchors follow GitHub's rule: the
heading in lower case, punctuation dropped, spaces as dashes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>")
LOOPBACK = re.compile(r"https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without code blocks and code spans, where nothing is a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    return [*INLINE_LINK.findall(body), *REFERENCE.findall(body), *AUTOLINK.findall(body)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        found.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return found


def problem_with(document: Path, target: str, root: Path = ROOT) -> str | None:
    """Why ``target`` (a link in ``document``) does not resolve inside ``root``, or None."""
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return None if LOOPBACK.match(target) else "leaves the repository"
    path_part, _, anchor = target.partition("#")
    resolved = (document.parent / path_part).resolve() if path_part else document
    if not resolved.is_relative_to(root):
        return "leaves the repository"
    if not resolved.exists():
        return "names a missing file"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"names a missing anchor #{anchor}"
    return None


def problems_in(document: Path, root: Path = ROOT) -> list[str]:
    text = document.read_text()
    found = [f"{target}: {why}" for target in links(text) if (why := problem_with(document, target, root))]
    if "../shared" in text or "shared/CONTRACT" in text or "shared/UPSTREAM" in text:
        found.append("mentions ../shared, which is not part of the repository")
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(document):
    assert problems_in(document) == []


def test_the_api_and_upstream_documents_exist_and_are_linked_from_the_readme():
    targets = links((ROOT / "README.md").read_text())
    assert "docs/API.md" in targets and "docs/UPSTREAM.md" in targets


def test_the_checker_catches_each_kind_of_bad_link(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "API.md").write_text("# API\n\n## Errors\n")
    probe = tmp_path / "docs" / "probe.md"
    probe.write_text(
        "# Title\n\nSee [contract](../../shared/CONTRACT.md), [web](https://example.com/x),\n"
        "[missing](API-missing.md), [anchor](API.md#no-such-heading), [ok](API.md#errors),\n"
        "[self](#title), <http://127.0.0.1:8080/docs> and `[code](nowhere.md)`.\n\n"
        "[ref]: ../../outside.md\n"
    )
    assert problems_in(probe, root=tmp_path) == [
        "../../shared/CONTRACT.md: leaves the repository",
        "https://example.com/x: leaves the repository",
        "API-missing.md: names a missing file",
        "API.md#no-such-heading: names a missing anchor #no-such-heading",
        "../../outside.md: leaves the repository",
        "mentions ../shared, which is not part of the repository",
    ]


def test_anchors_follow_githubs_rule():
    assert slug("Fetch a batch: `POST /v1/call-data`") == "fetch-a-batch-post-v1call-data"
    assert slug("Slow, idle and half-open clients") == "slow-idle-and-half-open-clients"
    assert slug("ieData: the packed string") == "iedata-the-packed-string"
