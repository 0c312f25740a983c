"""The Gunicorn config module reads each setting from the environment, with measured defaults."""

import os
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CONFIG = Path(settings.BASE_DIR) / "config" / "gunicorn.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("GUNICORN_WORKERS", "PYTHON_MAX_THREADS", "GUNICORN_GRACEFUL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_defaults_to_one_sync_worker_per_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(monkeypatch, GUNICORN_WORKERS="")

    assert config["workers"] == len(os.sched_getaffinity(0))
    assert config["worker_class"] == "sync"


def test_threads_switch_to_gthread_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(monkeypatch, GUNICORN_WORKERS="3", PYTHON_MAX_THREADS="4")

    assert (config["workers"], config["threads"], config["worker_class"]) == (3, 4, "gthread")


def test_graceful_timeout_fits_inside_dockers_stop_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(monkeypatch)

    assert config["graceful_timeout"] < 30  # web's stop_grace_period in docker-compose.yml


def test_logs_go_to_stdout_and_the_control_socket_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(monkeypatch)

    assert (config["accesslog"], config["errorlog"], config["control_socket_disable"]) == ("-", "-", True)
