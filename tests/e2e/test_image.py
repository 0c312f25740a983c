"""The images stand on their own: the web image runs outside Compose with only its required
variables, and the scheduler's health check tells a stuck loop from a running one."""

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack import Compose


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120)


def env_values(env_file: str) -> dict[str, str]:
    lines = (line.partition("=") for line in Path(env_file).read_text().splitlines() if not line.startswith("#"))
    return {name.strip(): value.strip() for name, sep, value in lines if sep}


@pytest.fixture
def bare_web(compose: Compose, env_file: str) -> Iterator[str]:
    """The web image started with `docker run` (its own CMD) on the stack's back network, given the
    four required variables and nothing else; removed by its id afterwards. (EMAIL_URL is
    required since password reset mails: production refuses to start without a mail server.)"""
    project = json.loads(compose("config", "--format", "json").stdout)["name"]
    env = env_values(env_file)
    user, name = env.get("DATABASE_USER") or "app", env.get("POSTGRES_DB") or "app"
    database = f"postgres://{user}:{env['DATABASE_PASSWORD']}@db:5432/{name}"
    started = docker(
        "run", "--detach", "--network", f"{project}_back",
        "-e", f"SECRET_KEY={env['SECRET_KEY']}", "-e", f"JWT_SIGNING_KEY={env['JWT_SIGNING_KEY']}",
        "-e", f"DATABASE_URL={database}", "-e", "EMAIL_URL=console:", f"{project}-web",
    )  # fmt: skip
    container = started.stdout.strip()
    try:
        yield container
    finally:
        docker("rm", "--force", container, check=False)


def test_the_web_image_serves_with_only_its_required_variables(bare_web: str) -> None:
    deadline = time.monotonic() + 90
    while (check := docker("exec", bare_web, "python", "/app/config/healthcheck.py", check=False)).returncode != 0:
        running = docker("inspect", "--format", "{{.State.Running}}", bare_web).stdout.strip()
        assert running == "true" and time.monotonic() < deadline, docker("logs", bare_web).stderr[-2000:]
        time.sleep(1)

    assert check.returncode == 0


@pytest.mark.parametrize(("age", "healthy"), [("now", True), ("3 minutes ago", False), (None, False)])
def test_the_scheduler_is_healthy_only_while_its_heartbeat_is_fresh(
    compose: Compose, age: str | None, healthy: bool
) -> None:
    """The scheduler's own health check command, pointed at a file of a given age (the real
    heartbeat is the running loop's to touch)."""
    container = compose("ps", "-q", "scheduler").stdout.strip()
    test = json.loads(docker("inspect", "--format", "{{json .Config.Healthcheck.Test}}", container).stdout)
    assert test[0] == "CMD-SHELL"
    probe = test[1].replace("/tmp/scheduler-heartbeat", "/tmp/heartbeat-probe")
    prepare = f"touch -d '{age}' /tmp/heartbeat-probe" if age else "true"

    result = compose(
        "exec", "-T", "scheduler", "sh", "-c", f"rm -f /tmp/heartbeat-probe; {prepare}; {probe}", check=False
    )

    assert (result.returncode == 0) == healthy, result.stderr
