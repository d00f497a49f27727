"""The README and docs/: the README stays short, every relative link lands on a file (and heading),
and docs/settings.md's table is what scripts/settings_doc.py makes of qa/config.py."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), text holding at most one level of brackets; an optional "title".
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _settings_doc():
    spec = importlib.util.spec_from_file_location("settings_doc", ROOT / "scripts" / "settings_doc.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def _prose(text: str) -> str:
    """The text outside fenced blocks and code spans, where a link is a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = base = _slug(heading)
        repeat = 0
        while slug in found:  # GitHub numbers a repeated heading's anchor: x, x-1, x-2 …
            repeat += 1
            slug = f"{base}-{repeat}"
        found.add(slug)
    return found


def relative_links(page: Path) -> list[str]:
    targets = LINK.findall(_prose(page.read_text(encoding="utf-8")))
    return [target for target in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]


def test_the_readme_is_at_most_250_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; depth belongs in docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_lands_on_a_file_and_heading(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        landing = (page.parent / path).resolve() if path else page
        if not landing.exists():
            broken.append(f"{target}: no such file")
        elif anchor and landing.suffix == ".md" and anchor not in anchors(landing):
            broken.append(f"{target}: no heading with that anchor in {landing.name}")
    assert broken == []


def test_the_link_checker_sees_links_and_headings_as_github_does(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Speed and scale\n\n## `qa ask`, refusals!\n\n## Notes\n\n## Notes\n\n"
                    "[a](other.md#x) ![b](img.png) [`c`](#notes-1) `[not](a-link.md)`\n\n"
                    "```\n[nor](this.md)\n# not a heading\n```\n[web](https://example.org)\n")
    assert anchors(page) == {"speed-and-scale", "qa-ask-refusals", "notes", "notes-1"}
    assert relative_links(page) == ["other.md#x", "img.png", "#notes-1"]


def test_docs_settings_is_what_the_generator_makes_of_qa_config():
    settings_doc = _settings_doc()
    current = settings_doc.DOC.read_text(encoding="utf-8")
    assert current == settings_doc.rendered(current), "docs/settings.md is stale: run python scripts/settings_doc.py"


def test_every_setting_has_a_comment_that_says_what_it_means():
    settings_doc = _settings_doc()
    source = (ROOT / "qa" / "config.py").read_text(encoding="utf-8")
    assert [group.names for group in settings_doc.groups(source) if not group.comment] == []
