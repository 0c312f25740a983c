"""Metrics: the app's numbers add up over its Gunicorn workers, none of the metrics endpoints is
reachable from outside, and the monitoring profile scrapes every target and raises its alerts.

The first tests use `make test`'s stack; the monitoring profile runs on a throwaway stack of its
own (Prometheus, the Nginx and PostgreSQL exporters), with Prometheus on a free loopback port.
"""

import json
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import smoke
from paths import ROOT
from stack import Compose, free_port, login, make

# Reads the metrics the way Prometheus does, from inside the web container (port 9100 is never
# published, and Nginx never proxies it).
SCRAPE = (
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9100/metrics', timeout=10).read().decode())"
)
HEALTH = re.compile(r'^djstack_http_requests_total\{method="GET",route="api/health/",status="200"\} (\S+)$', re.M)


def health_requests(compose: Compose) -> int:
    """The requests to /api/health/ answered 200, summed over every worker that ever ran."""
    found = HEALTH.search(compose("exec", "-T", "web", "python", "-c", SCRAPE).stdout)
    return int(float(found.group(1))) if found else 0


def workers(compose: Compose) -> set[int]:
    """Gunicorn's workers: the children of the container's main process (the master, pid 1).
    Health checks and `exec`ed commands are children of the runtime, not of pid 1."""
    script = (
        "import os\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n"
        "        stat = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if stat[1] == '1':\n"
        "        print(pid)\n"
    )
    return {int(pid) for pid in compose("exec", "-T", "web", "python", "-c", script).stdout.split()}


def get_health(base_url: str, times: int) -> None:
    for _ in range(times):
        reply = smoke.request(base_url, "GET", "/api/health/")
        assert reply.status == 200, reply.body


def test_n_requests_through_nginx_add_exactly_n_summed_over_workers_across_a_worker_restart(
    compose: Compose, base_url: str
) -> None:
    before = health_requests(compose)
    get_health(base_url, 40)
    assert health_requests(compose) - before == 40

    # One worker ends (SIGTERM: it finishes its request and exits); the master starts another.
    running = workers(compose)
    assert len(running) >= 2, running
    stopped = min(running)
    compose("exec", "-T", "web", "python", "-c", f"import os, signal; os.kill({stopped}, signal.SIGTERM)")
    deadline = time.monotonic() + 30
    while (stopped in (now := workers(compose)) or len(now) < len(running)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stopped not in now and len(now) == len(running), now

    get_health(base_url, 40)
    assert health_requests(compose) - before == 80, "the ended worker's requests were lost from the sum"


def test_the_metrics_name_routes_by_pattern_and_count_the_master_s_workers(compose: Compose, base_url: str) -> None:
    smoke.request(base_url, "GET", f"/api/notes/{secrets.randbelow(10**9) + 10**9}/")
    get_health(base_url, 1)  # so this test's histogram line exists whichever tests ran before
    metrics = compose("exec", "-T", "web", "python", "-c", SCRAPE).stdout

    # A note's URL is labelled by its pattern, never by the id in it.
    assert not re.search(r'route="[^"]*\d{9}', metrics)
    assert re.search(r"^djstack_gunicorn_workers \d+\.0$", metrics, re.M)
    assert re.search(r'^djstack_build_info\{version="[^"]+"\} 1\.0$', metrics, re.M)
    assert 'djstack_http_request_duration_seconds_bucket{le="0.1",method="GET",route="api/health/"}' in metrics


def counter(compose: Compose, name: str, labels: str = "") -> float:
    """One sample of the app's metrics, summed over its workers (0 when it has none yet)."""
    series = f"{name}{{{labels}}}" if labels else name
    metrics = compose("exec", "-T", "web", "python", "-c", SCRAPE).stdout
    found = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.M)
    return float(found.group(1)) if found else 0.0


def test_failed_sign_ins_and_reused_refresh_tokens_are_counted(compose: Compose, base_url: str) -> None:
    failed, reused = (
        counter(compose, "djstack_signins_total", 'outcome="failed"'),
        counter(compose, "djstack_token_reuse_refused_total"),
    )
    username, password = f"metrics-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    assert (
        smoke.request(base_url, "POST", "/api/token/", json_body={"username": username, "password": "x"}).status == 401
    )
    registered = smoke.request(
        base_url, "POST", "/api/auth/register/",
        json_body={"username": username, "email": f"{username}@example.com", "password": password},
    )  # fmt: skip
    assert registered.status == 201, registered.body
    refresh = login(base_url, username, password).json()["refresh"]
    assert smoke.request(base_url, "POST", "/api/token/refresh/", json_body={"refresh": refresh}).status == 200
    assert smoke.request(base_url, "POST", "/api/token/refresh/", json_body={"refresh": refresh}).status == 401

    assert counter(compose, "djstack_signins_total", 'outcome="failed"') == failed + 1
    assert counter(compose, "djstack_token_reuse_refused_total") == reused + 1


@pytest.mark.parametrize("path", ["/metrics", "/stub_status", "/status/backup.prom", "/status/acme.prom"])
def test_no_metrics_endpoint_is_reachable_through_the_public_site(base_url: str, path: str) -> None:
    assert smoke.request(base_url, "GET", path).status == 404


@pytest.mark.parametrize(("service", "port"), [("web", "9100"), ("nginx", "8081")])
def test_the_metrics_ports_are_not_published(compose: Compose, service: str, port: str) -> None:
    assert compose("port", service, port, check=False).stdout.strip() in {"", ":0"}


# ---- the monitoring profile, on a stack of its own ---------------------------------------------
class Monitoring:
    def __init__(self, env: Path, prometheus: str) -> None:
        self.env, self.prometheus = env, prometheus
        self.up_output = ""

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["docker", "compose", "--env-file", str(self.env), "--profile", "monitoring", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if check and done.returncode != 0:
            pytest.fail(f"docker compose {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def api(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.prometheus}{path}", timeout=10) as reply:
            return json.load(reply)["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitoring]:
    tmp = tmp_path_factory.mktemp("monitoring")
    env, project, port = tmp / "monitoring.env", f"monitoring-{secrets.token_hex(3)}", free_port()
    subprocess.run(
        [sys.executable, "scripts/init_env.py", "--set", f"COMPOSE_PROJECT_NAME={project}",
         "--set", f"HTTP_PORT={free_port()}", "--set", f"HTTPS_PORT={free_port()}", "--set", f"PROMETHEUS_PORT={port}",
         "--set", f"BACKUP_DIR={tmp / 'backups'}", "--set", "BACKUP_START_DELAY=86400", "--set", "COMPOSE_PROFILES=monitoring",
         str(env)],
        cwd=ROOT, capture_output=True, check=True,
    )  # fmt: skip
    stack = Monitoring(env, f"http://127.0.0.1:{port}")
    try:
        up = make(str(env), "up")
        assert up.returncode == 0, (up.stdout + up.stderr)[-3000:]
        stack.up_output = up.stdout
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", check=False)
        subprocess.run(
            ["docker", "image", "rm", f"{project}-web", f"{project}-nginx"], capture_output=True, check=False
        )


def test_prometheus_scrapes_every_target_of_the_monitoring_profile(monitoring: Monitoring) -> None:
    assert f"Prometheus (the monitoring profile): {monitoring.prometheus}/targets" in monitoring.up_output
    expected = {"web", "nginx", "postgres", "backup", "acme", "prometheus"}
    deadline, health = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        targets = monitoring.api("/api/v1/targets")["activeTargets"]
        health = {t["labels"]["job"]: (t["health"], t.get("lastError", "")) for t in targets}
        if set(health) == expected and all(state == "up" for state, _ in health.values()):
            break
        time.sleep(2)
    assert set(health) == expected and all(state == "up" for state, _ in health.values()), health

    # What each exporter reads, seen through Prometheus: the database as its monitoring role.
    for query in ("pg_up", "nginx_up", "djstack_gunicorn_workers"):
        result = monitoring.api(f"/api/v1/query?query={query}")["result"]
        assert result and float(result[0]["value"][1]) >= 1, (query, result)
    exporter = monitoring.compose("exec", "-T", "postgres-exporter", "env").stdout
    assert "DATA_SOURCE_USER=app_monitor" in exporter


@pytest.mark.parametrize("service", ["prometheus", "nginx-exporter", "postgres-exporter"])
def test_the_monitoring_containers_are_locked_down(monitoring: Monitoring, service: str) -> None:
    container = monitoring.compose("ps", "-q", service).stdout.strip()
    host = json.loads(subprocess.run(["docker", "inspect", container], capture_output=True, check=True).stdout)[0]

    assert host["HostConfig"]["ReadonlyRootfs"] is True
    assert host["HostConfig"]["CapDrop"] == ["ALL"] and not host["HostConfig"]["CapAdd"]
    assert "no-new-privileges:true" in host["HostConfig"]["SecurityOpt"]
    assert host["HostConfig"]["Memory"] > 0 and host["HostConfig"]["PidsLimit"] > 0
    assert host["Config"]["User"] not in {"", "0", "root"}
    published = [binding for bindings in host["NetworkSettings"]["Ports"].values() if bindings for binding in bindings]
    assert all(binding["HostIp"] == "127.0.0.1" for binding in published), published


def test_stopping_web_raises_the_web_down_alert(monitoring: Monitoring) -> None:
    monitoring.compose("stop", "web")
    try:
        deadline, states = time.monotonic() + 120, []
        while time.monotonic() < deadline:
            alerts = monitoring.api("/api/v1/alerts")["alerts"]
            states = [a["state"] for a in alerts if a["labels"]["alertname"] == "WebDown"]
            if states and states[0] in {"pending", "firing"}:
                break
            time.sleep(2)
        assert states and states[0] in {"pending", "firing"}, monitoring.api("/api/v1/alerts")
    finally:
        monitoring.compose("start", "web")
