"""A port taken by another program stops `make up` before Docker does, with a message saying what to do."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paths import ROOT


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_file(tmp_path: Path, port: int) -> Path:
    """An env file with HTTP_PORT=port and HTTPS_PORT on a free port: never the default 8443,
    which a stack the user runs beside `make test` holds."""
    path = tmp_path / "port.env"
    path.write_text(
        f"COMPOSE_PROJECT_NAME=porttest{port}\nHTTP_BIND=127.0.0.1\nHTTP_PORT={port}\nHTTPS_PORT={free_port()}\n"
    )
    return path


def check_port(env: Path, running_nginx: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_port.py"), str(env), running_nginx],
        capture_output=True,
        text=True,
    )


def test_a_busy_port_is_reported_with_the_setting_to_change(tmp_path: Path, busy_port: int) -> None:
    result = check_port(env_file(tmp_path, busy_port))

    assert result.returncode == 1
    assert f"port 127.0.0.1:{busy_port} is already in use" in result.stderr
    assert "Set HTTP_PORT" in result.stderr


def test_a_port_held_by_the_stacks_own_nginx_is_fine(tmp_path: Path, busy_port: int) -> None:
    assert check_port(env_file(tmp_path, busy_port), running_nginx="abc123").returncode == 0


def test_free_ports_pass(tmp_path: Path) -> None:
    result = check_port(env_file(tmp_path, free_port()))

    assert result.returncode == 0, result.stderr


def test_make_up_stops_on_a_busy_port_before_building_anything(tmp_path: Path, busy_port: int) -> None:
    env = env_file(tmp_path, busy_port)
    env.write_text(env.read_text() + "SECRET_KEY=x\nJWT_SIGNING_KEY=y\nPOSTGRES_PASSWORD=z\n")

    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "up", f"ENV_FILE={env}"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "is already in use" in result.stderr
    assert "Building" not in result.stdout + result.stderr
