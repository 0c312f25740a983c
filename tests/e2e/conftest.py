"""End-to-end fixtures: the stack `make test` started, reached only through Nginx's published port.

E2E_ENV_FILE names that stack's env file; `docker compose --env-file` with it drives the stack
for what a client cannot see (logs, exit codes). Run these through `make test`.
"""

import os
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import smoke
from load import FAULT_ROWS
from paths import ROOT
from stack import Compose

RIG_FILES = ("-f", "docker-compose.yml", "-f", "tests/compose.yml", "-f", "bench/compose.yml")


@pytest.fixture(scope="session")
def env_file() -> str:
    path = os.environ.get("E2E_ENV_FILE", "")
    if not path or not Path(path).is_file():
        pytest.exit("E2E_ENV_FILE must name the env file of a running stack; run these through `make test`.", 2)
    return path


@pytest.fixture(scope="session")
def compose(env_file: str) -> Compose:
    """Run `docker compose` against the test stack, with the test and benchmark rigs merged over the
    production file (their services sit behind profiles); fail the test when it fails, unless
    check=False. `env` adds variables to Compose's own environment, where they win over the env file's."""

    def run(
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = 600,
        env: dict[str, str] | None = None,
    ):
        result = subprocess.run(
            ["docker", "compose", "--env-file", env_file, *RIG_FILES, *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            pytest.fail(f"docker compose {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    return run


def published(compose: Compose, port: int) -> str:
    address = compose("port", "nginx", str(port)).stdout.strip()
    host, _, number = address.rpartition(":")
    assert host in {"127.0.0.1", "0.0.0.0"}, f"Nginx is published on {address}, not on loopback"
    return number


@pytest.fixture(scope="session")
def base_url(compose: Compose) -> str:
    """The stack's HTTPS address; requests trust its self-signed certificate (certs/local.crt)."""
    smoke.use_ca(str(ROOT / "certs" / "local.crt"))
    return f"https://127.0.0.1:{published(compose, 443)}"


@pytest.fixture(scope="session")
def http_url(compose: Compose) -> str:
    """The stack's plain-HTTP address (it redirects to HTTPS)."""
    return f"http://127.0.0.1:{published(compose, 80)}"


@pytest.fixture(scope="session")
def make_user(compose: Compose) -> Callable[[str], str]:
    """Create (or reset) a regular user inside the stack; return its new random password."""

    def create(username: str) -> str:
        password = secrets.token_urlsafe(18)
        compose("exec", "-T", "web", "python", "manage.py", "ensure_user", username, stdin=password + "\n")
        return password

    return create


@pytest.fixture(scope="session")
def e2e_user(make_user: Callable[[str], str]) -> tuple[str, str]:
    username = f"e2e-{secrets.token_hex(4)}"
    return username, make_user(username)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The fault suite's table (test_faults.py), after the run, whether its scenarios passed or not."""
    rows = config.stash.get(FAULT_ROWS, [])
    if not rows:
        return
    terminalreporter.section("fault scenarios")
    terminalreporter.write_line(
        f"{'scenario':<40} {'requests':>8} {'failed':>7} {'longest outage':>15} {'writes lost':>12}"
    )
    for scenario, requests, failed, outage, lost in rows:
        terminalreporter.write_line(f"{scenario:<40} {requests:>8} {failed:>7} {outage:>13.1f} s {lost:>12}")
