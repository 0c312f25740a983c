"""`make up` never adopts containers that another checkout created under the same project name."""

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from paths import ROOT


@pytest.fixture
def project_of_another_checkout() -> Iterator[str]:
    """A stopped container labelled as another folder's Compose project; removed by its id after."""
    project = f"ownertest-{secrets.token_hex(3)}"
    image = os.environ.get("POSTGRES_IMAGE", "postgres:17")
    created = subprocess.run(
        ["docker", "create", "--label", f"com.docker.compose.project={project}",
         "--label", "com.docker.compose.project.working_dir=/srv/another-checkout", image, "true"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    try:
        yield project
    finally:
        # --volumes: the image's VOLUME gave the container an anonymous volume of its own.
        subprocess.run(
            ["docker", "rm", "--force", "--volumes", created.stdout.strip()], capture_output=True, check=False
        )


def test_make_up_refuses_a_project_that_belongs_to_another_checkout(
    tmp_path: Path, project_of_another_checkout: str
) -> None:
    env = tmp_path / "owner.env"
    env.write_text(f"COMPOSE_PROJECT_NAME={project_of_another_checkout}\nSECRET_KEY=x\nJWT_SIGNING_KEY=y\n")

    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "up", f"ENV_FILE={env}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode != 0
    assert "belongs to another checkout: /srv/another-checkout" in result.stderr
    assert "Building" not in result.stdout + result.stderr


def test_a_project_with_no_containers_passes() -> None:
    result = subprocess.run(
        ["python3", str(ROOT / "scripts" / "check_owner.py"), f"nobody-{secrets.token_hex(3)}"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
