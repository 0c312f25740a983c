"""The Bench: the bench user and its tokens, wrk's two containers, and the baselines."""

import functools
import json
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import smoke
from bench import config
from bench.docker import compose, docker, progress, wait_until_ready
from bench.scenarios import Scenario, label
from bench.wrk import Result, parse_wrk, wrk_arguments


@dataclass
class Bench:
    """What every scenario needs: the env file, the stack's URLs, a user and its tokens.

    `base_url` is the port published on 127.0.0.1, for the bench's own requests (readiness,
    preparation) and the published-port row; wrk's other runs go to Nginx by service name.
    """

    env_file: str
    base_url: str
    duration: int
    connections: int
    host: str = "localhost"  # the Host wrk sends: a name the site serves (ALLOWED_HOSTS)
    stack_url: str = config.STACK_NGINX
    static_path: str = ""
    password: str = ""
    access: str = ""
    refresh_tokens: list[str] = field(default_factory=list)
    paired_web_requests: int = 0  # /api/me/ requests web served in the alternated rounds
    wrk_containers: dict[bool, str] = field(default_factory=dict)  # by Scenario.published
    baseline_url: str = ""  # the running baseline's published port, for the bench's own requests

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
        minted = self.compose("exec", "-T", "web", "python", "manage.py", "shell", "-c", config.MINT_TOKENS)
        tokens = next(line.split()[1:] for line in minted.splitlines() if line.startswith("TOKENS "))
        self.access, self.refresh_tokens = tokens[0], tokens[1:]

    def start_wrk(self) -> None:
        """Two containers of the bench image, one on the stack's front network and one on the
        host's, for every wrk run, each a `docker exec` (~0.1 s; a `docker compose run` each cost
        ~0.35 s, ~13 s over a bench). Should the bench be killed outright (SIGKILL) before
        stop_wrk, they end by themselves after WRK_CONTAINER_SECONDS, or at `make down`."""
        for published, service in ((False, "bench"), (True, "bench-published")):
            sleep = ["--entrypoint", "sleep", service, str(config.WRK_CONTAINER_SECONDS)]
            self.wrk_containers[published] = self.compose(
                "--profile", "bench", "run", "--detach", "--rm", *sleep
            ).strip()

    def stop_wrk(self) -> None:
        for container in self.wrk_containers.values():
            subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)
        self.wrk_containers.clear()

    def run(self, url: str, scenario: Scenario) -> Result:
        """One wrk run of the scenario against `url` (the published port's, if it says so)."""
        progress(f"  {label(scenario.id)} ({scenario.duration or self.duration} s)...")
        target = self.base_url if scenario.published else url
        arguments = wrk_arguments(
            target, scenario, connections=self.connections, duration=self.duration, host=self.host
        )
        env_args = [arg for name in scenario.env for arg in ("--env", name)]  # values from this process
        container = self.wrk_containers[scenario.published]
        return parse_wrk(scenario.id, docker("exec", *env_args, container, *arguments, env=scenario.env))

    def paired(
        self, url: str, baseline: Scenario, me: Scenario, baseline_over_me: bool = False
    ) -> tuple[Result, Result, list[float]]:
        """The baseline, then /api/me/ on the stack, ROUNDS times over: the pair whose ratio is the
        median, and every round's ratio (/api/me/ over the baseline, or the other way round).

        The machine's speed drifts by a third over minutes; alternating short runs, seconds apart,
        and keeping the median pair makes the ratio hold from one bench run to the next.
        """
        seconds = max(1, round(self.duration * config.PAIR_SHARE))
        pairs = []
        for _ in range(config.ROUNDS):
            base = self.run(url, replace(baseline, duration=seconds))
            pairs.append((base, self.run(self.stack_url, replace(me, duration=seconds))))
            self.paired_web_requests += pairs[-1][1].answered
        ratio = [
            (baseline_run if baseline_over_me else me_run).requests_per_second
            / max((me_run if baseline_over_me else baseline_run).requests_per_second, 1e-9)
            for baseline_run, me_run in pairs
        ]
        median = sorted(range(config.ROUNDS), key=ratio.__getitem__)[config.ROUNDS // 2]
        return *pairs[median], [round(r, 3) for r in ratio]

    def baseline(self, name: str, env: dict[str, str]) -> str:
        """(Re)start bench-app and bench-nginx with these BENCH_* settings; once they answer on
        bench-nginx's published port, return the URL wrk reaches bench-nginx at."""
        progress(f"starting the {name} baseline...")
        self.compose("--profile", "bench", "up", "--detach", "--force-recreate", "--no-deps",
                     "bench-app", "bench-nginx", env=config.BASELINE_DEFAULTS | env)  # fmt: skip
        port = self.compose("--profile", "bench", "port", "bench-nginx", "443").strip().rsplit(":", 1)[-1]
        self.baseline_url = f"https://127.0.0.1:{port}"
        wait_until_ready(self.baseline_url, name)
        return config.BASELINE_NGINX

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
