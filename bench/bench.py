#!/usr/bin/env python3
"""Load the running stack through Nginx's published HTTPS port with wrk, and report.

    python3 bench/bench.py --env-file .env [--duration 5] [--connections 32] [--soak 100000]

Each scenario runs wrk (the `bench` image, on the host's network, to 127.0.0.1 only) for a fixed
time. The stack's own scenarios go through its Nginx; the baselines (a bare WSGI app, runserver,
a naive setup, the stack with its sign-in limits lifted or with PBKDF2) run one at a time in the
bench-app service behind a second Nginx (bench-nginx) from the same image. Figures, the ratios
issue 6 sets bars for, and web's worker memory over a soak are printed and saved under
bench-results/ as JSON, Markdown and an SVG chart. Stdlib only; `make bench` runs it.
"""

import argparse
import functools
import http.client
import json
import math
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import smoke  # noqa: E402  (the stdlib HTTP client)

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
STARTED = time.monotonic()


def progress(message: str) -> None:
    """A progress line, with the seconds since the bench started."""
    print(f"[{time.monotonic() - STARTED:4.0f} s] {message}", flush=True)


@dataclass
class Scenario:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    connections: int | None = None
    script: str | None = None  # a Lua script in the bench image's /wrk/
    env: dict[str, str] = field(default_factory=dict)  # for the script
    duration: int | None = None  # seconds, if not the run's


@dataclass
class Result:
    scenario: str
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    requests: int

    @property
    def answered(self) -> int:
        """Requests answered without an error (a flood's 429s, which Nginx answers, are errors)."""
        return self.requests - self.errors


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * UNITS_MS[unit]


def parse_wrk(name: str, output: str) -> Result:
    """Read wrk's --latency report."""
    percentile = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = (sum(map(int, socket_errors.groups())) if socket_errors else 0) + (int(non_2xx[1]) if non_2xx else 0)
    return Result(
        scenario=name,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),  # type: ignore[index]
        p50_ms=to_ms(percentile["50"]),
        p90_ms=to_ms(percentile["90"]),
        p99_ms=to_ms(percentile["99"]),
        errors=errors,
        requests=int(re.search(r"(\d+) requests in", output)[1]),  # type: ignore[index]
    )


def stop_cleanly_on_signals() -> None:
    """Ctrl-C, SIGTERM (`timeout`, a CI job cancelled) and SIGHUP (a closed terminal) unwind the
    bench like an error does, through its `finally` blocks: the baselines and wrk's container are
    stopped and the bench user gets the stack's hasher back. Without it, SIGTERM left bench-app,
    bench-nginx and wrk's container running, and `make down` could not remove the networks.
    Later signals are ignored, so that the clean-up (a few seconds) is not cut short in turn.
    """
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def unwind(signum: int, _frame: object) -> None:
        for caught_signal in caught:
            signal.signal(caught_signal, signal.SIG_IGN)
        progress(f"{signal.Signals(signum).name}: stopping the baselines and wrk's container...")
        raise SystemExit(128 + signum)

    for caught_signal in caught:
        signal.signal(caught_signal, unwind)


def docker(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run a docker command; its output, or exit with its error."""
    result = subprocess.run(
        ["docker", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, env=os.environ | (env or {})
    )
    if result.returncode != 0:
        sys.exit(f"error: docker {' '.join(args[:3])} failed:\n{result.stderr.strip()}")
    return result.stdout


# The production stack with the benchmark rig (bench/compose.yml) merged on top.
COMPOSE_FILES = ("-f", "docker-compose.yml", "-f", "bench/compose.yml")


def compose(env_file: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    return docker("compose", "--env-file", env_file, *COMPOSE_FILES, *args, stdin=stdin, env=env)


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
                " `docker compose --profile bench logs bench-app bench-nginx` says why."
            )
        time.sleep(pause)


@dataclass
class Bench:
    """What every scenario needs: the env file, the stack's URL, a user and its tokens."""

    env_file: str
    base_url: str
    duration: int
    connections: int
    static_path: str = ""
    password: str = ""
    access: str = ""
    refresh_tokens: list[str] = field(default_factory=list)
    paired_web_requests: int = 0  # /api/me/ requests web served in the alternated rounds
    wrk_container: str = ""  # the id of the container wrk runs in (start_wrk)

    def compose(self, *args: str, **kwargs: Any) -> str:
        return compose(self.env_file, *args, **kwargs)

    @property
    def sign_in(self) -> dict[str, str]:
        """The environment post.lua needs to sign the bench user in."""
        return {"BODY": json.dumps({"username": "bench", "password": self.password})}

    def prepare(self) -> None:
        """Find a hashed static file; create the bench user; mint tokens without signing in."""
        page = smoke.request(self.base_url, "GET", "/admin/login/", headers={"Accept": "text/html"}).body.decode()
        static = re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css", page)
        if not static:
            sys.exit("error: the admin login page links no hashed base.css; is the stack up?")
        self.static_path = static.group(0)
        self.password = secrets.token_urlsafe(18)
        self.compose("exec", "-T", "web", "python", "manage.py", "ensure_user", "bench", stdin=self.password + "\n")
        minted = self.compose("exec", "-T", "web", "python", "manage.py", "shell", "-c", MINT_TOKENS)
        tokens = next(line.split()[1:] for line in minted.splitlines() if line.startswith("TOKENS "))
        self.access, self.refresh_tokens = tokens[0], tokens[1:]

    def start_wrk(self) -> None:
        """One container of the bench image for every wrk run, each a `docker exec` (~0.1 s; a
        `docker compose run` each cost ~0.35 s, ~13 s over a bench). Should the bench be killed
        outright (SIGKILL) before stop_wrk, it ends by itself after WRK_CONTAINER_SECONDS, or at
        `make down`."""
        sleep = ["--entrypoint", "sleep", "bench", str(WRK_CONTAINER_SECONDS)]
        self.wrk_container = self.compose("--profile", "bench", "run", "--detach", "--rm", *sleep).strip()

    def stop_wrk(self) -> None:
        if self.wrk_container:
            subprocess.run(["docker", "rm", "--force", self.wrk_container], capture_output=True, check=False)
            self.wrk_container = ""

    def wrk(self, base_url: str, scenario: Scenario) -> str:
        header_args = [arg for name, value in scenario.headers.items() for arg in ("-H", f"{name}: {value}")]
        script_args = ["--script", f"/wrk/{scenario.script}"] if scenario.script else []
        env_args = [arg for name in scenario.env for arg in ("--env", name)]  # values from this process
        return docker(
            "exec", *env_args, self.wrk_container, "wrk",
            "--threads", str(THREADS), "--connections", str(scenario.connections or self.connections),
            "--duration", f"{scenario.duration or self.duration}s", "--timeout", "10s", "--latency",
            *header_args, *script_args, base_url + scenario.path,
            env=scenario.env,
        )  # fmt: skip

    def run(self, base_url: str, scenario: Scenario) -> Result:
        progress(f"  {scenario.name} ({scenario.duration or self.duration} s)...")
        return parse_wrk(scenario.name, self.wrk(base_url, scenario))

    def paired(
        self, url: str, baseline: Scenario, me: Scenario, baseline_over_me: bool = False
    ) -> tuple[Result, Result, list[float]]:
        """The baseline, then /api/me/ on the stack, ROUNDS times over: the pair whose ratio is the
        median, and every round's ratio (/api/me/ over the baseline, or the other way round).

        The machine's speed drifts by a third over minutes; alternating short runs, seconds apart,
        and keeping the median pair makes the ratio hold from one bench run to the next.
        """
        seconds = max(1, round(self.duration * PAIR_SHARE))
        pairs = []
        for _ in range(ROUNDS):
            base = self.run(url, replace(baseline, duration=seconds))
            pairs.append((base, self.run(self.base_url, replace(me, duration=seconds))))
            self.paired_web_requests += pairs[-1][1].answered
        ratio = [
            (baseline_run if baseline_over_me else me_run).requests_per_second
            / max((me_run if baseline_over_me else baseline_run).requests_per_second, 1e-9)
            for baseline_run, me_run in pairs
        ]
        median = sorted(range(ROUNDS), key=ratio.__getitem__)[ROUNDS // 2]
        return *pairs[median], [round(r, 3) for r in ratio]

    def baseline(self, name: str, env: dict[str, str]) -> str:
        """(Re)start bench-app and bench-nginx with these BENCH_* settings; return their URL."""
        progress(f"starting the {name} baseline...")
        self.compose("--profile", "bench", "up", "--detach", "--force-recreate", "--no-deps",
                     "bench-app", "bench-nginx", env=BASELINE_DEFAULTS | env)  # fmt: skip
        port = self.compose("--profile", "bench", "port", "bench-nginx", "443").strip().rsplit(":", 1)[-1]
        url = f"https://127.0.0.1:{port}"
        wait_until_ready(url, name)
        return url

    def stop_baselines(self) -> None:
        self.compose("--profile", "bench", "rm", "--stop", "--force", "bench-app", "bench-nginx")

    @functools.cached_property
    def web_container(self) -> str:
        """web's container id, looked up once: each `docker compose` call costs ~0.2 s of CPU."""
        return self.compose("ps", "--quiet", "web").strip()

    def worker_memory(self) -> dict[str, int]:
        """RSS in KiB of each of web's Gunicorn workers (the master's children), by PID."""
        top = docker("top", self.web_container, "-eo", "pid,ppid,rss,args").splitlines()[1:]
        rows = [line.split(None, 3) for line in top if "gunicorn" in line]
        pids = {row[0] for row in rows}
        return {row[0]: int(row[2]) for row in rows if row[1] in pids}


THREADS = 2
WRK_CONTAINER_SECONDS = 1800  # the wrk container's life if the bench is killed; a run takes 3.5 to 5 minutes
SOAK_CHUNK = 30  # seconds
# A PBKDF2 sign-in takes about a second here, four at a time: a shorter run may complete none.
PBKDF2_SECONDS = 3
# Each baseline is measured in ROUNDS short runs, each followed by one of /api/me/, a PAIR_SHARE of
# the scenario duration each (2 s of the default 5), so the bench stays under 5 minutes. Five: with
# three, one odd round in a drifting machine moved the median pair by as much as a bar's margin.
ROUNDS = 5
PAIR_SHARE = 0.4
# The bench user's tokens, minted in the web container so no sign-in is spent on them.
MINT_TOKENS = """
from datetime import timedelta
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from accounts.models import User
user = User.objects.get(username="bench")
access = AccessToken.for_user(user)
access.set_exp(lifetime=timedelta(minutes=30))  # outlives the run (the default is 5 minutes)
print("TOKENS", access, *(RefreshToken.for_user(user) for _ in range(64)))
"""
# bench-app and bench-nginx as the stack runs, unless a baseline says otherwise.
BASELINE_DEFAULTS = {
    "BENCH_APP_COMMAND": "gunicorn --config /app/config/gunicorn.py config.wsgi:application",
    "BENCH_PASSWORD_HASHER": "argon2",
    "BENCH_NGINX_AUTH_RATE": "5r/s",
    "BENCH_NGINX_AUTH_BURST": "20",
    "BENCH_NGINX_AUTH_DELAY": "10",
    "BENCH_NGINX_SITE": "./nginx/templates/default.conf.template",
}
# Lifted: Nginx counts in milliseconds, so a high rate alone still refuses more than `burst`
# requests arriving in the same millisecond (32 connections at the start of a run do).
LIFTED = {"BENCH_NGINX_AUTH_RATE": "100000r/s", "BENCH_NGINX_AUTH_BURST": "100000", "BENCH_NGINX_AUTH_DELAY": "100000"}
# Static files are fetched as browsers fetch them, accepting gzip (the precompressed copies).
GZIP = {"Accept-Encoding": "gzip"}


@dataclass
class Bar:
    name: str
    measured: float
    target: float
    higher_is_better: bool = True
    unit: str = "x"

    @property
    def met(self) -> bool:
        return self.measured >= self.target if self.higher_is_better else self.measured < self.target


def soak_duration(requests_needed: int, rate: float) -> int:
    """Seconds of load at `rate` requests/s that serve at least `requests_needed` more (0 if none)."""
    if requests_needed <= 0 or rate <= 0:
        return 0
    return int(requests_needed / rate) + 1


def bars(results: dict[str, Result], memory: dict[str, float]) -> list[Bar]:
    """The bars of issue 6, from one run's results."""

    def rps(name: str) -> float:
        return results[name].requests_per_second

    def me_next_to(baseline: str) -> float:
        """/api/me/ measured right after the baseline: a pair close in time holds on a noisy machine."""
        return rps(next_to(baseline)) if next_to(baseline) in results else rps(ME)

    return [
        Bar("/api/me/ vs the bare WSGI ceiling", me_next_to(CEILING) / rps(CEILING), 0.35),
        Bar("/api/me/ vs runserver", me_next_to(RUNSERVER) / rps(RUNSERVER), 2.5),
        Bar("/api/me/ vs the naive setup", me_next_to(NAIVE_ME) / rps(NAIVE_ME), 3.0),
        Bar("static file vs /api/me/", rps(STATIC) / rps(ME), 15.0),
        Bar("sign-in: Argon2id vs PBKDF2", rps(LOGIN) / rps(LOGIN_PBKDF2), 5.0),
        Bar("/api/me/ p99 during a sign-in flood", results[ME_FLOOD].p99_ms, 60.0, False, " ms"),
        Bar("a web worker's memory growth over its life in the soak", memory["growth_percent"], 10.0, False, " %"),
    ]


def idle_scenarios(results: dict[str, Result]) -> list[str]:
    """Scenarios in which no request completed: no ratio can be drawn from them."""
    return [name for name, result in results.items() if result.requests_per_second <= 0]


def next_to(baseline: str) -> str:
    """The name of the /api/me/ run that follows a baseline's."""
    return f"/api/me/ again, right after the {SHORT_NAMES[baseline]}"


STATIC, HEALTH, ME = "static file, gzip (Nginx)", "/api/health/", "/api/me/ (Bearer)"
FLOOD, ME_FLOOD = "sign-in flood, 8 conn (Nginx limits it)", "/api/me/ during the flood"
SOAK = "/api/health/ soak (memory)"
REFRESH, VERIFY = "/api/token/refresh/ (limits lifted)", "/api/token/verify/ (limits lifted)"
LOGIN, LOGIN_PBKDF2 = "/api/token/ Argon2id, 4 conn (limits lifted)", "/api/token/ PBKDF2, 4 conn (limits lifted)"
CEILING, RUNSERVER = "ceiling: bare WSGI hello, same Gunicorn + Nginx", "runserver /api/me/"
NAIVE_ME = "naive /api/me/ (1 sync worker, CONN_MAX_AGE=0)"
NAIVE_STATIC = "naive static file, gzip (through Django)"
SHORT_NAMES = {CEILING: "ceiling", RUNSERVER: "runserver", NAIVE_ME: "naive"}
# How each alternated pair's per-round ratio reads in the report.
ROUND_RATIOS = {STATIC: "the static file over /api/me/"} | {
    baseline: f"/api/me/ over the {name}" for baseline, name in SHORT_NAMES.items()
}


def run_stack(bench: Bench) -> tuple[dict[str, Result], dict[str, list[float]]]:
    """The stack's own scenarios and the sign-in flood; the static file's ratio in each round."""
    results: dict[str, Result] = {}
    bearer = {"Authorization": f"Bearer {bench.access}"}
    progress("the stack, as configured:")
    # The static file and /api/me/ alternate like the baselines and /api/me/ below: their ratio is a bar.
    results[STATIC], results[ME], static_over_me = bench.paired(
        bench.base_url, Scenario(STATIC, bench.static_path, GZIP), Scenario(ME, "/api/me/", bearer), True
    )
    results[HEALTH] = bench.run(bench.base_url, Scenario(HEALTH, "/api/health/"))
    # The flood starts first and ends last, so it lasts the whole /api/me/ measurement.
    flood = Scenario(
        FLOOD, "/api/token/", connections=8, script="post.lua", env=bench.sign_in, duration=bench.duration + 3
    )
    with ThreadPoolExecutor(1) as pool:
        flooding = pool.submit(bench.run, bench.base_url, flood)
        time.sleep(1.5)  # the flood is on before /api/me/ is measured
        results[ME_FLOOD] = bench.run(bench.base_url, Scenario(ME_FLOOD, "/api/me/", bearer))
        results[FLOOD] = flooding.result()
    return results, {STATIC: static_over_me}


def run_soak(
    bench: Bench, served: int, soak: int, warm: dict[str, int], rate: float
) -> tuple[Result | None, dict[str, float]]:
    """/api/health/ at about `rate` requests/s until web has served `soak` requests (`served` so far),
    sampling its workers' memory every few seconds (sync workers are busy between samples, so the
    peak is what a leak would raise). Returns the soak's first run and the memory summary.
    """
    samples: list[dict[str, int]] = []
    soaking = threading.Event()

    def sample() -> None:
        while not soaking.wait(3):
            samples.append(bench.worker_memory())

    sampler = threading.Thread(target=sample)
    sampler.start()
    first = None
    try:
        # In runs of at most SOAK_CHUNK seconds, each sized by the rate of the one before: the
        # machine's speed drifts, and one long run sized by /api/health/'s rate overshot by a fifth.
        while seconds := soak_duration(soak - served, rate):
            chunk = bench.run(bench.base_url, Scenario(SOAK, "/api/health/", duration=min(max(seconds, 2), SOAK_CHUNK)))
            first = first or chunk
            served, rate = served + chunk.requests, chunk.requests_per_second
            if not chunk.requests:  # web answers nothing: no soak to speak of
                break
    finally:
        soaking.set()
        sampler.join()
    return first, memory_summary(warm, [*samples, bench.worker_memory()], served)


def web_requests(results: dict[str, Result]) -> int:
    """Requests of the stack's own scenarios that reached web (a flood's 429s never do), but for
    the alternated /api/me/ rounds, which Bench.paired counts."""
    return sum(r.answered for name, r in results.items() if name in (HEALTH, ME_FLOOD, FLOOD))


def run_baselines(bench: Bench) -> tuple[dict[str, Result], dict[str, list[float]]]:
    """Each baseline in bench-app behind bench-nginx: their results, and each pair's ratios."""
    results: dict[str, Result] = {}
    bearer = {"Authorization": f"Bearer {bench.access}"}
    ratios: dict[str, list[float]] = {}
    try:
        url = bench.baseline("stack with its sign-in limits lifted", LIFTED)
        refresh_env = {"REFRESH_TOKENS": " ".join(bench.refresh_tokens), "THREADS": str(THREADS)}
        verify_env = {"BODY": json.dumps({"token": bench.access})}
        for scenario in (
            Scenario(REFRESH, "/api/token/refresh/", script="refresh.lua", env=refresh_env),
            Scenario(VERIFY, "/api/token/verify/", script="post.lua", env=verify_env),
            Scenario(LOGIN, "/api/token/", connections=4, script="post.lua", env=bench.sign_in),
        ):
            results[scenario.name] = bench.run(url, scenario)
        for name, env, scenario in (
            ("bare WSGI ceiling", {"BENCH_APP_COMMAND": CEILING_COMMAND}, Scenario(CEILING, "/")),
            ("runserver", RUNSERVER_BASELINE, Scenario(RUNSERVER, "/api/me/", bearer)),
            ("naive", NAIVE, Scenario(NAIVE_ME, "/api/me/", bearer)),
        ):
            url = bench.baseline(name, env)
            me = Scenario(next_to(scenario.name), "/api/me/", bearer)
            results[scenario.name], results[me.name], ratios[scenario.name] = bench.paired(url, scenario, me)
        results[NAIVE_STATIC] = bench.run(url, Scenario(NAIVE_STATIC, bench.static_path, GZIP))
        # Last: the first PBKDF2 sign-in re-hashes the password with PBKDF2 (every later one only
        # verifies it), and a new hash revokes the access token the scenarios above use.
        url = bench.baseline("PBKDF2", LIFTED | {"BENCH_PASSWORD_HASHER": "pbkdf2"})
        smoke.request(url, "POST", "/api/token/", json_body={"username": "bench", "password": bench.password})
        pbkdf2 = Scenario(LOGIN_PBKDF2, "/api/token/", connections=4, script="post.lua", env=bench.sign_in)
        results[LOGIN_PBKDF2] = bench.run(url, replace(pbkdf2, duration=max(bench.duration, PBKDF2_SECONDS)))
    finally:
        progress("stopping the baselines...")
        bench.stop_baselines()
        # Back to the stack's hasher for the bench user (the PBKDF2 baseline re-hashed it).
        bench.compose("exec", "-T", "web", "python", "manage.py", "ensure_user", "bench", stdin=bench.password + "\n")
    return results, ratios


# The bare app is mounted from bench/ (bench/compose.yml): it ships in no image.
CEILING_COMMAND = "gunicorn --config /app/config/gunicorn.py --pythonpath /bench hello_wsgi:application"
RUNSERVER_COMMAND = "python manage.py runserver 0.0.0.0:8000 --noreload"
# Django's defaults: a new database connection for each request, closed at its end (what settings
# without a CONN_MAX_AGE get, such as startproject's and the usual first Docker setup's), and the
# token's user read on every request, whatever JWT_USER_CACHE_SECONDS the stack's .env opts into
# (with it, these baselines would skip their database reads).
DJANGO_DEFAULTS = {"CONN_MAX_AGE": "0", "JWT_USER_CACHE_SECONDS": "0"}
# runserver needs it too: with the stack's 60 s, each of its per-connection threads kept a
# connection open until PostgreSQL ran out of slots, which failed its own requests and those of
# web's freshly recycled workers.
RUNSERVER_BASELINE = {"BENCH_APP_COMMAND": RUNSERVER_COMMAND} | DJANGO_DEFAULTS
# The defaults the stack changes: Gunicorn's (one sync worker; only the port given, and no control
# socket, for the read-only root), Django's connections, and Nginx proxying static files to Django.
NAIVE_COMMAND = "gunicorn --bind 0.0.0.0:8000 --no-control-socket config.wsgi:application"
NAIVE = {
    "BENCH_APP_COMMAND": NAIVE_COMMAND,
    "BENCH_NGINX_SITE": "./bench/naive.conf.template",
} | DJANGO_DEFAULTS


def memory_summary(warm: dict[str, int], samples: list[dict[str, int]], served: int) -> dict[str, float]:
    """The largest worker's RSS when warm and at its peak over the soak, the largest growth of one
    worker over its own life, and how many workers max_requests started meanwhile.

    Each worker is compared with itself, from its second sample on (the first may come before
    its first requests' lazy imports): a worker keeps ~19 MiB after its second Argon2id sign-in
    (glibc holds the freed block), so the largest worker warm against the largest later would
    read as growth or shrinkage depending on which workers had signed someone in.
    """
    lives: dict[str, list[int]] = {}
    for sample in [warm, *samples]:
        for pid, rss in sample.items():
            lives.setdefault(pid, []).append(rss)
    growth = max(((max(life[2:]) - life[1]) / life[1] for life in lives.values() if len(life) >= 3), default=0.0)
    return {
        "requests": served,
        "worker_rss_mib_warm": round(max(warm.values(), default=0) / 1024, 1),
        "worker_rss_mib_peak": round(max((rss for sample in samples for rss in sample.values()), default=0) / 1024, 1),
        "growth_percent": round(100 * growth, 1),
        "workers_started": len(set(lives) - set(warm)),
    }


def markdown(
    results: dict[str, Result],
    checks: list[Bar],
    memory: dict[str, float],
    meta: dict[str, str],
    ratios: dict[str, list[float]],
) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; wrk and the stack on the same machine, HTTPS, "
        f"{meta['duration']} s per scenario, {meta['connections']} connections unless stated.",
        "",
        "| scenario | requests/s | p50 ms | p90 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results.values():
        figures = f"{r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | {r.errors:,}"
        lines.append(f"| {r.scenario} | {figures} |")
    lines += ["", "| bar | measured | target | met |", "| --- | ---: | ---: | :---: |"]
    for bar in checks:
        sign = ">=" if bar.higher_is_better else "<"
        met = "yes" if bar.met else "NO"
        lines.append(f"| {bar.name} | {bar.measured:.2f}{bar.unit} | {sign} {bar.target:g}{bar.unit} | {met} |")
    lines += [
        "",
        f"web's largest Gunicorn worker over {memory['requests']:,.0f} requests: {memory['worker_rss_mib_warm']} MiB "
        f"warm, {memory['worker_rss_mib_peak']} MiB at the soak's peak; no worker grew by more than "
        f"{memory['growth_percent']} % over its own life ({memory['workers_started']:.0f} started by max_requests "
        "meanwhile). A worker keeps ~19 MiB after its second Argon2id sign-in, so workers differ by that much; "
        "each is compared with itself.",
        "The flood row counts the sign-ins Nginx let through (10 at once, then 5/s); errors there "
        "would be its 429s beyond the burst.",
    ]
    for baseline, per_round in ratios.items():
        figures = ", ".join(f"{ratio:.2f}" for ratio in per_round)
        lines.append(
            f"{ROUND_RATIOS[baseline].capitalize()} in each of {len(per_round)} alternated rounds: {figures} "
            "(the table shows the median round's pair)."
        )
    return "\n".join(lines) + "\n"


BASELINES = {*SHORT_NAMES, NAIVE_STATIC, REFRESH, VERIFY, LOGIN, LOGIN_PBKDF2}  # not the stack as configured


def svg_chart(results: dict[str, Result], meta: dict[str, str]) -> str:
    """Requests/s of every scenario as horizontal bars on a log scale (static files and PBKDF2
    sign-ins are four orders of magnitude apart): the stack as configured in blue, the baselines
    and the stack with its sign-in limits lifted in grey. Plain SVG, no plotting library."""
    label_width, bar_width, row, top = 400, 420, 24, 70
    decades = max(1, math.ceil(math.log10(max((r.requests_per_second for r in results.values()), default=1) or 1)))
    height = top + row * len(results) + 16

    def x(rps: float) -> float:
        return label_width + bar_width * math.log10(max(rps, 1.0)) / decades

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 90}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<text x="8" y="18" font-size="14">Requests/s, log scale: <tspan fill="#2f6db5">the stack as '
        'configured</tspan>, <tspan fill="#777">baselines and the stack with its sign-in limits lifted</tspan></text>',
        f'<text x="8" y="36" fill="#666">{escape(meta["date"])}, {escape(meta["machine"])}, '
        f"{escape(meta['connections'])} connections unless stated</text>",
    ]
    for power in range(decades + 1):
        parts.append(
            f'<line x1="{x(10**power):.1f}" y1="{top - 12}" x2="{x(10**power):.1f}" y2="{height - 12}" stroke="#ddd"/>'
            f'<text x="{x(10**power):.1f}" y="{top - 16}" text-anchor="middle" fill="#666">{10**power:,}</text>'
        )
    for index, result in enumerate(results.values()):
        y, end, name = top + index * row, x(result.requests_per_second), escape(result.scenario)
        colour = "#999" if result.scenario in BASELINES else "#2f6db5"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 12}" text-anchor="end">{name}</text>'
            f'<rect class="bar" x="{label_width}" y="{y}" width="{end - label_width:.1f}" height="16" '
            f'fill="{colour}"><title>{name}</title></rect>'
            f'<text x="{end + 6:.1f}" y="{y + 12}">{result.requests_per_second:,.0f}</text>'
        )
    return "\n".join([*parts, "</svg>"]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--duration", type=int, default=5, help="seconds per scenario (default 5)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--soak", type=int, default=100_000, help="requests web serves before memory is read again")
    parser.add_argument("--out", default=str(ROOT / "bench-results"), help="folder for results.{json,md,svg}")
    args = parser.parse_args()
    stop_cleanly_on_signals()
    port = compose(args.env_file, "port", "nginx", "443").strip().rsplit(":", 1)[-1]
    if not port.isdigit():
        sys.exit("error: Nginx publishes no HTTPS port; start the stack first (make up).")
    smoke.use_ca(str(ROOT / "certs" / "local.crt"))
    progress("building the wrk and baseline images...")
    compose(args.env_file, "--profile", "bench", "build", "bench", "bench-app", "bench-nginx")
    bench = Bench(args.env_file, f"https://127.0.0.1:{port}", args.duration, args.connections)
    bench.prepare()
    try:
        bench.start_wrk()
        stack, stack_ratios = run_stack(bench)
        # Memory: web's workers now, then over the baselines' /api/me/ rounds and a soak that tops
        # their requests up to --soak; the soak comes last so those rounds count towards it.
        warm = bench.worker_memory()
        baselines, baseline_ratios = run_baselines(bench)
        served = web_requests(stack) + bench.paired_web_requests
        soaked, memory = run_soak(bench, served, args.soak, warm, stack[HEALTH].requests_per_second)
    finally:
        bench.stop_wrk()
    ratios = stack_ratios | baseline_ratios
    results = stack | ({SOAK: soaked} if soaked else {}) | baselines  # the soak shown with the stack's rows
    if idle := idle_scenarios(results):
        sys.exit(f"error: no request completed in {', '.join(idle)}; run longer (--duration).")
    checks = bars(results, memory)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs",
        "duration": str(args.duration),
        "connections": str(args.connections),
        "seconds": f"{time.monotonic() - STARTED:.0f}",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": meta,
        "results": [asdict(r) for r in results.values()],
        "bars": [asdict(b) | {"met": b.met} for b in checks],
        "memory": memory,
        "rounds": ratios,
    }
    (out / "results.json").write_text(json.dumps(document, indent=2))
    table = markdown(results, checks, memory, meta, ratios)
    (out / "results.md").write_text(table)
    (out / "results.svg").write_text(svg_chart(results, meta))
    print()
    print(table)
    print(f"({meta['seconds']} s; saved in {out}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
