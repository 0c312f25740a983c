"""Fixtures shared by the host-side tests (e2e, scripts, bench, repo)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from paths import ROOT


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the working tree (tracked and untracked, minus what git ignores, plus certs/)."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    if (ROOT / "certs").is_dir():
        shutil.copytree(ROOT / "certs", tmp_path / "certs")
    return tmp_path
