"""`make dev`: an edit under app/ shows up through Nginx within seconds, with no rebuild."""

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import smoke


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make(repo: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=repo, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def dev_stack(repo_copy: Path) -> Iterator[tuple[Path, str]]:
    """`make dev` in a copy of the repository, on free ports; `make clean` there afterwards."""
    env = repo_copy / "dev.env"
    https_port = free_port()
    project = f"devtest-{secrets.token_hex(3)}"
    subprocess.run(
        [sys.executable, "scripts/init_env.py", "--set", f"COMPOSE_PROJECT_NAME={project}",
         "--set", f"HTTP_PORT={free_port()}", "--set", f"HTTPS_PORT={https_port}", str(env)],
        cwd=repo_copy, capture_output=True, check=True,
    )  # fmt: skip
    try:
        started = make(repo_copy, "dev", f"ENV_FILE={env}")
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        yield repo_copy, f"https://127.0.0.1:{https_port}"
    finally:
        make(repo_copy, "clean", f"ENV_FILE={env}", timeout=300)
        # Only the tags: the layers are the test stack's too.
        subprocess.run(
            ["docker", "image", "rm", f"{project}-web", f"{project}-nginx"], capture_output=True, check=False
        )


def test_an_edited_view_answers_without_a_rebuild(dev_stack: tuple[Path, str]) -> None:
    repo, base_url = dev_stack
    smoke.use_ca(str(repo / "certs" / "local.crt"))
    assert smoke.request(base_url, "GET", "/api/health/").json()["status"] == "ok"
    view = repo / "app" / "core" / "views.py"
    view.write_text(
        view.read_text().replace('{"status": "ok", "database": "ok"}', '{"status": "edited", "database": "ok"}')
    )

    deadline = time.monotonic() + 30
    while (status := smoke.request(base_url, "GET", "/api/health/").json().get("status")) != "edited":
        assert time.monotonic() < deadline, f"still {status!r} 30 s after the edit"
        time.sleep(0.5)

    assert status == "edited"
