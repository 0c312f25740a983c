#!/usr/bin/env python3
"""Print the version of the code in this checkout, for the web image's APP_VERSION.

    python3 scripts/version.py            # e.g. 3f9c2a1b7d4e, or 3f9c2a1b7d4e-dirty.5be0c91a

The git revision, and when tracked or new files differ from it, `-dirty.` and a hash of those
differences: two builds of the same files get the same version (so `make up` twice rebuilds
nothing), and any edit gets a new one (so a deploy of uncommitted work is visible). Files git
ignores (.env, certs/, backups/) do not count. Outside a git checkout: `unknown`. Stdlib only.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def version() -> str:
    try:
        revision = git("rev-parse", "--short=12", "HEAD").decode().strip()
        changed = git("diff", "HEAD", "--binary")
        untracked = git("ls-files", "--others", "--exclude-standard", "-z").split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not changed and not any(untracked):
        return revision
    digest = hashlib.sha256(changed)
    for name in sorted(filter(None, untracked)):
        path = ROOT / name.decode()
        digest.update(name + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return f"{revision}-dirty.{digest.hexdigest()[:8]}"


if __name__ == "__main__":
    sys.stdout.write(version() + "\n")
