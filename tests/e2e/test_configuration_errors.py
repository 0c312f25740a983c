"""Bad configuration stops the stack with a message that says what to fix."""

import os
import subprocess
import tempfile
from pathlib import Path

from stack import Compose


def test_compose_refuses_to_start_without_secret_key(env_file: str, compose: Compose) -> None:
    lines = [line for line in Path(env_file).read_text().splitlines() if not line.startswith("SECRET_KEY=")]
    with tempfile.NamedTemporaryFile("w", suffix=".env") as broken:
        broken.write("\n".join(lines) + "\n")
        broken.flush()
        env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
        result = subprocess.run(
            ["docker", "compose", "--env-file", broken.name, "config", "--quiet"],
            capture_output=True, text=True, env=env, timeout=60,
        )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_django_refuses_to_start_without_secret_key(compose: Compose) -> None:
    result = compose("run", "--rm", "--no-deps", "-e", "SECRET_KEY=", "web", "python", "manage.py", "check", check=False)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_migrate_against_an_unreachable_database_names_it(compose: Compose) -> None:
    result = compose(
        "run", "--rm", "--no-deps", "-e", "DATABASE_URL=postgres://app:wrong@db:1/app", "migrate", check=False
    )

    assert result.returncode != 0
    assert "Cannot connect to the database 'app' at db:1" in result.stderr


def test_deploy_checks_report_no_errors_in_the_web_container(compose: Compose) -> None:
    result = compose("exec", "-T", "web", "python", "manage.py", "check", "--deploy", check=False)

    assert result.returncode == 0, result.stderr
    assert "ERRORS:" not in result.stderr
