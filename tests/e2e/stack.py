"""Helpers shared by the end-to-end tests."""

import subprocess
import time
from collections.abc import Callable

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
