"""The README is a short front door, every relative link in it and in docs/ resolves, and the
configuration doc and .env.example name the same variables."""

import re
from pathlib import Path

import pytest

from paths import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.*)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto: ...: not this repository's to check
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)

    assert not broken, f"{page.name} links to what does not exist: {broken}"


def test_the_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()

    assert len(lines) <= 200
    first_screen = "\n".join(lines[:40])
    assert "make up" in first_screen and "make test" in first_screen


def test_the_configuration_doc_and_env_example_name_the_same_variables() -> None:
    in_example = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    table_rows = re.findall(r"^\| (`.*?) \|", (ROOT / "docs" / "configuration.md").read_text(), re.M)
    in_doc = {name for row in table_rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row)}

    assert in_example - in_doc == set(), "in .env.example, missing from docs/configuration.md's table"
    assert in_doc - in_example == set(), "in docs/configuration.md's table, missing from .env.example"
