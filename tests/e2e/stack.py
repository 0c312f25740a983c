"""Helpers shared by the end-to-end tests."""

import contextlib
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import smoke
from paths import ROOT

# `make` as a user runs it, from the repository root.
ROOT_MAKE = ["make", "--no-print-directory", "-C", str(ROOT)]

# `compose(*args, check=True, stdin=None, timeout=600)`: docker compose against the test stack.
Compose = Callable[..., subprocess.CompletedProcess[str]]


def login(base_url: str, username: str, password: str) -> smoke.Reply:
    """POST the credentials to /api/token/ through Nginx."""
    return smoke.request(base_url, "POST", "/api/token/", json_body={"username": username, "password": password})


def nginx_logs_once_they_show(compose: Compose, probe: str, timeout: float = 5.0) -> str:
    """Nginx's log as soon as it contains `probe`, or as it is after `timeout` seconds.

    Nginx writes its access log in blocks, at least once a second (nginx/nginx.conf), so a line
    appears up to a second after its request.
    """
    deadline = time.monotonic() + timeout
    while probe not in (logs := compose("logs", "nginx").stdout) and time.monotonic() < deadline:
        time.sleep(0.25)
    return logs


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_in(repo: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`make` run in another checkout (a copy of this one), as its user would."""
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=repo, capture_output=True, text=True, timeout=timeout
    )


@contextlib.contextmanager
def stack_in_copy(
    repo: Path, target: str = "up", prepare: Callable[[Path], None] | None = None
) -> Iterator[tuple[Path, str]]:
    """`make up` (or `make dev`) in a copy of the repository, on free ports and a project name of
    its own, after `prepare(env_file)` if given; yields the env file and the HTTPS URL. `make clean`
    there afterwards, and its image tags removed (the layers are the test stack's too)."""
    env = repo / "copy.env"
    https_port, project = free_port(), f"copytest-{secrets.token_hex(3)}"
    subprocess.run(
        [sys.executable, "scripts/init_env.py", "--set", f"COMPOSE_PROJECT_NAME={project}",
         "--set", f"HTTP_PORT={free_port()}", "--set", f"HTTPS_PORT={https_port}", str(env)],
        cwd=repo, capture_output=True, check=True,
    )  # fmt: skip
    try:
        if prepare:
            prepare(env)
        started = make_in(repo, target, f"ENV_FILE={env}")
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        yield env, f"https://127.0.0.1:{https_port}"
    finally:
        make_in(repo, "clean", f"ENV_FILE={env}", timeout=300)
        tags = [f"{project}-{image}" for image in ("web", "nginx", "tests")]
        subprocess.run(["docker", "image", "rm", *tags], capture_output=True, check=False)


def make(env_file: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`make TARGET ... ENV_FILE=env_file`, as an operator runs it against the test stack."""
    return subprocess.run([*ROOT_MAKE, *args, f"ENV_FILE={env_file}"], capture_output=True, text=True, timeout=timeout)


def env_value(env_file: str, name: str) -> str:
    """The value the env file gives `name` (its last assignment); fails when it is unset or empty."""
    values = re.findall(rf"^{name}=(.*)$", Path(env_file).read_text(), re.M)
    assert values and values[-1], f"{name} is not set in {env_file}"
    return values[-1]
