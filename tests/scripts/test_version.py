"""scripts/version.py: the web image's APP_VERSION, which a deploy's clients see switch: the same
files always give the same version (make up twice rebuilds nothing), any edit a new one."""

import shutil
import subprocess
import sys
from pathlib import Path

from paths import ROOT


def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts/version.py", repo / "scripts")
    (repo / ".gitignore").write_text(".env\n")
    (repo / "app.py").write_text("print('v1')\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    return repo


def version(repo: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(repo / "scripts/version.py")], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_clean_checkout_is_its_revision_and_ignored_files_do_not_count(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    revision = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True
    )

    (repo / ".env").write_text("SECRET_KEY=x\n")

    assert version(repo) == revision.stdout.strip()


def test_each_edit_gets_its_own_version_and_the_same_files_the_same_one(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    clean = version(repo)

    (repo / "app.py").write_text("print('v2')\n")
    edited = version(repo)
    (repo / "new.py").write_text("x = 1\n")
    added = version(repo)

    assert edited.startswith(f"{clean}-dirty.") and added.startswith(f"{clean}-dirty.")
    assert len({clean, edited, added}) == 3
    assert version(repo) == added
    (repo / "new.py").unlink()
    (repo / "app.py").write_text("print('v1')\n")
    assert version(repo) == clean


def test_outside_a_git_checkout_it_is_unknown(tmp_path: Path) -> None:
    shutil.copy(ROOT / "scripts/version.py", tmp_path)

    done = subprocess.run([sys.executable, str(tmp_path / "version.py")], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "unknown"
