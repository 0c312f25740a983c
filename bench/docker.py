"""docker and docker compose calls, progress lines, and a clean stop on signals."""

import http.client
import os
import signal
import subprocess
import sys
import time
from typing import Any

import smoke
from bench import ROOT
from bench.config import COMPOSE_FILES

STARTED = time.monotonic()


def progress(message: str) -> None:
    """A progress line, with the seconds since the bench started."""
    print(f"[{time.monotonic() - STARTED:4.0f} s] {message}", flush=True)


def docker(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run a docker command; its output, or exit with its error."""
    result = subprocess.run(
        ["docker", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, env=os.environ | (env or {})
    )
    if result.returncode != 0:
        sys.exit(f"error: docker {' '.join(args[:3])} failed:\n{result.stderr.strip()}")
    return result.stdout


def compose(env_file: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """docker compose on the stack with the benchmark rig merged."""
    return docker("compose", "--env-file", env_file, *COMPOSE_FILES, *args, stdin=stdin, env=env)


def stop_cleanly_on_signals() -> None:
    """Ctrl-C, SIGTERM (`timeout`, a CI job cancelled) and SIGHUP (a closed terminal) unwind the
    bench like an error does, through its `finally` blocks: the baselines and wrk's containers are
    stopped and the bench user gets the stack's hasher back. Without it, SIGTERM left bench-app,
    bench-nginx and wrk's container running, and `make down` could not remove the networks.
    Later signals are ignored, so that the clean-up (a few seconds) is not cut short in turn.
    """
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def unwind(signum: int, _frame: object) -> None:
        for caught_signal in caught:
            signal.signal(caught_signal, signal.SIG_IGN)
        progress(f"{signal.Signals(signum).name}: stopping the baselines and wrk's containers...")
        raise SystemExit(128 + signum)

    for caught_signal in caught:
        signal.signal(caught_signal, unwind)


def wait_until_ready(
    url: str, name: str, request: Any = smoke.request, seconds: float = 60, pause: float = 0.2
) -> None:
    """Poll /api/health/ through bench-nginx until it answers 200 (every baseline's app does), or
    exit naming the baseline and the last answer. Polled from here rather than by Docker health
    checks: a check each second in both containers cost ~7 % of this 2-CPU machine, measurements
    included, and a poll sees the baseline ready sooner.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            status = request(url, "GET", "/api/health/", timeout=2).status
            if status == 200:
                return
            last = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as error:  # not listening yet, or reset by Docker's proxy
            last = str(error) or type(error).__name__
        if time.monotonic() >= deadline:
            sys.exit(
                f"error: the {name} baseline did not answer /api/health/ within {seconds:.0f} s (last: {last});"
                " `docker compose -f docker-compose.yml -f bench/compose.yml"
                " --profile bench logs bench-app bench-nginx` says why."
            )
        time.sleep(pause)
