"""Third-party actions run by full commit SHA, the tag in a comment (outside review, item 13):
a tag can be moved to other code; a SHA cannot. Dependabot keeps SHA pins current."""

import re

from paths import ROOT

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$", re.M)


def test_every_action_is_pinned_by_commit_sha_with_its_tag_in_a_comment() -> None:
    uses = [m for path in (ROOT / ".github/workflows").glob("*.yml") for m in USES.finditer(path.read_text())]

    assert uses, "no workflow step uses an action"
    unpinned = [m["ref"] for m in uses if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", m["ref"])]
    untagged = [m["ref"] for m in uses if not re.match(r"\s+#\s*v?\d", m["comment"])]
    assert unpinned == [], "pin these by full commit SHA"
    assert untagged == [], "name the tag of each SHA in a comment (# v4.4.0)"
