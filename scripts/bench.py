#!/usr/bin/env python3
"""Load the running stack through Nginx's published HTTPS port with wrk, and report.

    python3 scripts/bench.py --env-file .env [--duration 10] [--connections 32]

Each scenario runs wrk (in the `bench` image, on the host's network) for a fixed time, then
requests/s, p50/p90/p99 latency and errors are printed as a table and saved under bench-results/
as JSON and Markdown. Stdlib only; `make bench` runs it.
"""

import argparse
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import smoke  # noqa: E402  (the stdlib HTTP client)

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class Scenario:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    connections: int | None = None


@dataclass
class Result:
    scenario: str
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    requests: int


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * UNITS_MS[unit]


def parse_wrk(name: str, output: str) -> Result:
    """Read wrk's --latency report."""
    percentile = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+(?:us|ms|s|m))$", output, re.M))
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


def compose(env_file: str, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["docker", "compose", "--env-file", env_file, *args], cwd=ROOT, input=stdin, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"error: docker compose {' '.join(args[:3])} failed:\n{result.stderr.strip()}")
    return result.stdout


def scenarios(base_url: str, env_file: str) -> list[Scenario]:
    """The scenarios, with what they need prepared: a hashed static file's name, a signed-in user."""
    page = smoke.request(base_url, "GET", "/admin/login/", headers={"Accept": "text/html"}).body.decode()
    static = re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css", page)
    if not static:
        sys.exit("error: the admin login page links no hashed base.css; is the stack up?")
    password = secrets.token_urlsafe(18)
    compose(env_file, "exec", "-T", "web", "python", "manage.py", "ensure_user", "bench", stdin=password + "\n")
    access = smoke.request(
        base_url, "POST", "/api/token/", json_body={"username": "bench", "password": password}
    ).json()["access"]
    return [
        Scenario("static file (Nginx)", static.group(0)),
        Scenario("/api/health/", "/api/health/"),
        Scenario("/api/me/ (Bearer)", "/api/me/", {"Authorization": f"Bearer {access}"}),
    ]


def run(env_file: str, base_url: str, scenario: Scenario, duration: int, connections: int) -> Result:
    header_args = [arg for name, value in scenario.headers.items() for arg in ("-H", f"{name}: {value}")]
    output = compose(
        env_file,
        "--profile",
        "bench",
        "run",
        "--rm",
        "bench",
        "--threads",
        "2",
        "--connections",
        str(scenario.connections or connections),
        "--duration",
        f"{duration}s",
        "--timeout",
        "10s",
        "--latency",
        *header_args,
        base_url + scenario.path,
    )
    return parse_wrk(scenario.name, output)


def markdown(results: list[Result], meta: dict[str, str]) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}, {meta['duration']} s per scenario, "
        f"{meta['connections']} connections.",
        "",
        "| scenario | requests/s | p50 ms | p90 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        figures = f"{r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | {r.errors}"
        lines.append(f"| {r.scenario} | {figures} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    port = compose(args.env_file, "port", "nginx", "443").strip().rsplit(":", 1)[-1]
    if not port.isdigit():
        sys.exit("error: Nginx publishes no HTTPS port; start the stack first (make up).")
    base_url = f"https://127.0.0.1:{port}"
    smoke.use_ca(str(ROOT / "certs" / "local.crt"))
    print("building the wrk image...", flush=True)
    compose(args.env_file, "--profile", "bench", "build", "bench")
    results = []
    for scenario in scenarios(base_url, args.env_file):
        print(f"running {scenario.name} for {args.duration} s...", flush=True)
        results.append(run(args.env_file, base_url, scenario, args.duration, args.connections))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs",
        "duration": str(args.duration),
        "connections": str(args.connections),
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2))
    table = markdown(results, meta)
    (out / "results.md").write_text(table)
    print()
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
