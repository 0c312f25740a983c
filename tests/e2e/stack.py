"""Helpers shared by the end-to-end tests."""

import subprocess
from collections.abc import Callable
from pathlib import Path

import smoke

ROOT = Path(__file__).resolve().parents[2]
# `make` as a user runs it, from the repository root.
ROOT_MAKE = ["make", "--no-print-directory", "-C", str(ROOT)]

# `compose(*args, check=True, stdin=None, timeout=600)`: docker compose against the test stack.
Compose = Callable[..., subprocess.CompletedProcess[str]]


def login(base_url: str, username: str, password: str) -> smoke.Reply:
    """POST the credentials to /api/token/ through Nginx."""
    return smoke.request(base_url, "POST", "/api/token/", json_body={"username": username, "password": password})
