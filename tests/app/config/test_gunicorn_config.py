"""The Gunicorn config module reads each setting from the environment, with measured defaults."""

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CONFIG = Path(settings.BASE_DIR) / "config" / "gunicorn.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("GUNICORN_WORKERS", "PYTHON_MAX_THREADS", "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_RELOAD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter from app/, as Gunicorn's master would import the app."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


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


def test_workers_are_forked_from_a_master_that_loaded_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(monkeypatch)

    assert (config["preload_app"], config["reload"]) == (True, False)


def test_make_devs_reload_has_each_worker_import_the_code_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(monkeypatch, GUNICORN_RELOAD="1")

    assert (config["preload_app"], config["reload"]) == (False, True)


def test_loading_the_wsgi_module_imports_the_views_and_opens_no_database_connection() -> None:
    """Gunicorn's master imports config.wsgi once and forks every worker from it (preload_app): the
    views are then ready in each worker, and a connection opened there would be one socket shared
    by all of them. Nothing listens on the database URL given here, so any attempt to connect fails."""
    code = (
        "import sys; from config.wsgi import application; from django.db import connections; "
        "print('config.urls' in sys.modules, 'accounts.views' in sys.modules, "
        "all(c.connection is None for c in connections.all()))"
    )

    result = run_python(code, DATABASE_URL="postgres://app:pw@127.0.0.1:9/app")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


def test_before_each_fork_the_master_closes_database_connections_and_freezes_its_objects() -> None:
    """A query at import time (in code added to the template) opens a connection in the master;
    pre_fork closes it, so no two workers share one socket. It also moves the loaded objects out of
    the garbage collector's reach, so collections in the workers leave the shared pages alone."""
    code = (
        "import gc, runpy; from config.wsgi import application; from django.db import connection; "
        "connection.ensure_connection(); opened = connection.connection is not None; "
        f"runpy.run_path({str(CONFIG)!r})['pre_fork'](None, None); "
        "print(opened, connection.connection is None, gc.get_freeze_count() > 10000)"
    )

    result = run_python(code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]
