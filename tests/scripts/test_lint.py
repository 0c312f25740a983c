"""`make lint` fails, saying which check and why, for each kind of mistake it is there to catch.

Each case copies the repository, breaks one thing, and runs the one lint step that must catch it
(the same step `make lint` runs), with the repository's own .venv.
"""

import secrets
import subprocess
from pathlib import Path

import pytest

from paths import ROOT

VENV = ROOT / ".venv"


def break_python(repo: Path) -> None:
    path = repo / "app/core/selectors.py"
    path.write_text(path.read_text() + "\nimport os\n")  # an unused import (ruff F401)


def break_types(repo: Path) -> None:
    path = repo / "app/core/network.py"
    path.write_text(path.read_text() + "\n\ndef broken() -> int:\n    return 'not an int'\n")


def break_dockerfile(repo: Path) -> None:
    path = repo / "Dockerfile"
    path.write_text(path.read_text().replace("WORKDIR /app", "RUN cd /app", 1))  # DL3003


def break_compose(repo: Path) -> None:
    path = repo / "docker-compose.yml"
    path.write_text(
        path.read_text().replace(
            "      db: { condition: service_healthy }", "      dbx: { condition: service_healthy }", 1
        )
    )


def break_shell(repo: Path) -> None:
    path = repo / "db/setup-roles.sh"
    path.write_text(path.read_text() + "\nfor f in $(ls /tmp); do echo $f; done\n")  # SC2045, SC2086


def break_migrations(repo: Path) -> None:
    path = repo / "app/notes/models.py"
    path.write_text(
        path.read_text().replace(
            "    body = models.TextField",
            "    pinned = models.BooleanField(default=False)\n    body = models.TextField",
            1,
        )
    )


def break_backward_compatibility(repo: Path) -> None:
    """A column the running version reads dropped, and a NOT NULL one it does not know added."""
    path = repo / "app/notes/models.py"
    path.write_text(
        path.read_text().replace(
            "    body = models.TextField(blank=True, max_length=10_000)\n",
            "    pinned = models.BooleanField(default=False)\n",
            1,
        )
    )
    (repo / "app/notes/migrations/0002_backward_incompatible.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("notes", "0001_initial")]\n'
        "    operations = [\n"
        '        migrations.RemoveField(model_name="note", name="body"),\n'
        '        migrations.AddField(model_name="note", name="pinned", field=models.BooleanField(default=False)),\n'
        "    ]\n"
    )


def break_nginx(repo: Path) -> None:
    path = repo / "nginx/proxy.conf"
    path.write_text(path.read_text() + "\nproxy_pass_everything on;\n")


CASES = [
    ("lint-python", break_python, "F401"),
    ("lint-types", break_types, "Incompatible return value type"),
    ("lint-docker", break_dockerfile, "DL3003"),
    ("lint-compose", break_compose, "dbx"),
    ("lint-shell", break_shell, "SC2045"),
    ("lint-migrations", break_migrations, "pinned"),
    ("lint-migrations", break_backward_compatibility, "(notes, 0002_backward_incompatible)... ERR"),
    ("lint-nginx", break_nginx, "proxy_pass_everything"),
]


@pytest.mark.parametrize(("step", "breakage", "message"), CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
def test_each_kind_of_mistake_fails_its_lint_step(repo_copy: Path, step: str, breakage, message: str) -> None:  # type: ignore[no-untyped-def]
    project = f"linttest-{secrets.token_hex(3)}"
    breakage(repo_copy)
    try:
        result = subprocess.run(
            ["make", "--no-print-directory", step, f"VENV={VENV}", f"TEST_PROJECT={project}"],
            cwd=repo_copy,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        images = subprocess.run(["docker", "images", "-q", f"{project}-*"], capture_output=True, text=True).stdout
        if images.split():
            subprocess.run(["docker", "image", "rm", "-f", *images.split()], capture_output=True)
        # `compose run` made this project's networks; left behind, they use up Docker's address pools.
        label = f"label=com.docker.compose.project={project}"
        networks = subprocess.run(["docker", "network", "ls", "-q", "--filter", label], capture_output=True, text=True)
        if networks.stdout.split():
            subprocess.run(["docker", "network", "rm", *networks.stdout.split()], capture_output=True)
        # ...and its database volume, which `compose run` creates too.
        volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", label], capture_output=True, text=True)
        if volumes.stdout.split():
            subprocess.run(["docker", "volume", "rm", *volumes.stdout.split()], capture_output=True)

    assert result.returncode != 0, f"{step} passed on a broken tree:\n{result.stdout}"
    assert message in result.stdout + result.stderr
