"""Stopping, restarting and re-running the stack loses nothing and drops no request in flight."""

import json
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

import smoke
from stack import ROOT_MAKE, Compose, login


def make(target: str, env_file: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ROOT_MAKE, target, f"ENV_FILE={env_file}"], capture_output=True, text=True, timeout=900)


def container_id(compose: Compose, service: str) -> str:
    return compose("ps", "-q", service).stdout.strip()


def with_legacy_hash(compose: Compose, username: str, password: str) -> None:
    """Store the user's password as Django's PBKDF2 (1,000,000 iterations), as an older install would."""
    code = (
        "import sys, django; django.setup(); from django.contrib.auth.hashers import make_password; "
        "from accounts.models import User; "
        "User.objects.filter(username=sys.argv[1]).update(password=make_password(sys.argv[2], hasher='pbkdf2_sha256'))"
    )
    compose("exec", "-T", "web", "python", "-c", code, username, password)


def test_stopping_web_exits_0_and_finishes_requests_in_flight(
    base_url: str, compose: Compose, make_user: Callable[[str], str]
) -> None:
    # A first login against a legacy PBKDF2 hash takes a good fraction of a second (it verifies, then
    # re-hashes with Argon2id): long enough to be caught in flight. It also proves old hashes sign in.
    users = [(f"inflight-{n}", make_user(f"inflight-{n}")) for n in range(2)]
    for username, password in users:
        with_legacy_hash(compose, username, password)
    replies: list[tuple[int, float]] = []

    def sign_in(username: str, password: str) -> None:
        replies.append((login(base_url, username, password).status, time.monotonic()))

    clients = [threading.Thread(target=sign_in, args=user) for user in users]
    for client in clients:
        client.start()
    time.sleep(0.1)
    stop_sent = time.monotonic()
    web = container_id(compose, "web")
    try:
        compose("stop", "web")
        for client in clients:
            client.join(timeout=60)
        while_down = smoke.request(base_url, "GET", "/api/health/")
        exit_code = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.ExitCode}}", web], capture_output=True, text=True
        ).stdout.strip()
    finally:
        compose("up", "--detach", "--wait", "web", "nginx")

    assert exit_code == "0"
    assert [status for status, _ in replies] == [200, 200]
    assert (while_down.status, while_down.json()["code"]) in {(502, "bad_gateway"), (504, "gateway_timeout")}
    assert any(finished > stop_sent for _, finished in replies), "no request was still in flight at SIGTERM"


def test_make_up_twice_is_harmless(env_file: str, compose: Compose) -> None:
    before = {service: container_id(compose, service) for service in ("db", "web", "nginx", "scheduler")}

    result = make("up", env_file)

    assert result.returncode == 0, result.stderr
    assert {service: container_id(compose, service) for service in before} == before


def test_make_down_then_up_keeps_the_users_and_down_removes_what_a_killed_bench_left(
    env_file: str, base_url: str, compose: Compose, make_user: Callable[[str], str]
) -> None:
    password = make_user("survivor")
    # What a `make bench` killed outright leaves behind: wrk's container (of the bench profile).
    wrk = compose(
        "--profile", "bench", "run", "--detach", "--rm", "--entrypoint", "sleep", "bench", "600"
    ).stdout.strip()

    down = make("down", env_file)
    left = subprocess.run(["docker", "ps", "--all", "--quiet", "--filter", f"id={wrk}"], capture_output=True, text=True)
    up = make("up", env_file)

    assert (down.returncode, up.returncode) == (0, 0), down.stderr + up.stderr
    assert left.stdout.strip() == "", "make down left a container of the bench profile running"
    assert login(base_url, "survivor", password).status == 200


def test_make_lints_cleanup_leaves_a_running_stack_of_its_project_alone(compose: Compose) -> None:
    """make lint runs under the project name make test uses (it reuses the test images): its last
    step must not take away a test stack running beside it, as this one is."""
    project = json.loads(compose("config", "--format", "json").stdout)["name"]

    def running() -> list[str]:
        return sorted(compose("--profile", "bench", "--profile", "test", "ps", "--quiet").stdout.split())

    before = running()
    assert before, "no container of the test stack is running"

    result = subprocess.run(
        [*ROOT_MAKE, "lint-cleanup", f"TEST_PROJECT={project}"], capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr
    assert running() == before


@pytest.mark.parametrize("service", ["web", "nginx", "db", "scheduler"])
def test_every_long_running_service_is_healthy(compose: Compose, service: str) -> None:
    cid = container_id(compose, service)
    health = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Health.Status}}", cid], capture_output=True, text=True
    ).stdout.strip()

    assert health == "healthy"


def front_address(container: str) -> str:
    """The container's address on the stack's front network (where Nginx reaches web)."""
    template = "{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}} {{end}}"
    pairs = subprocess.run(["docker", "inspect", "-f", template, container], capture_output=True, text=True)
    return next(p.split("=")[1] for p in pairs.stdout.split() if p.split("=")[0].endswith("_front"))


def test_nginx_follows_web_to_a_new_address(base_url: str, compose: Compose) -> None:
    """A web container that comes back on another IP (restart, recreate, scale) is still reached."""
    old_address = front_address(container_id(compose, "web"))
    compose("stop", "web")
    # Park a placeholder on the address web just freed, so the new web container gets another one.
    placeholder = compose("run", "--detach", "--no-deps", "web", "sleep", "300").stdout.strip().splitlines()[-1]
    try:
        compose("up", "--detach", "--wait", "--no-deps", "web")
        new_address = front_address(container_id(compose, "web"))
        deadline, status = time.monotonic() + 30, 0
        while time.monotonic() < deadline and status != 200:
            status = smoke.request(base_url, "GET", "/api/health/").status
            time.sleep(0.5)
    finally:
        subprocess.run(["docker", "rm", "--force", placeholder], capture_output=True)

    assert new_address != old_address, "the test could not move web to a new address"
    assert status == 200


def test_web_carries_on_after_the_database_restarts(
    base_url: str, compose: Compose, make_user: Callable[[str], str]
) -> None:
    """Each worker's persistent connection dies with the database; its next request opens a new one."""
    password = make_user("db-restart")
    bearer = {"Authorization": f"Bearer {login(base_url, 'db-restart', password).json()['access']}"}
    # Every worker holds a connection: more requests than workers, each answered.
    assert {smoke.request(base_url, "GET", "/api/me/", headers=bearer).status for _ in range(12)} == {200}

    compose("restart", "db")
    compose("up", "--detach", "--wait", "db")
    statuses = [smoke.request(base_url, "GET", "/api/me/", headers=bearer).status for _ in range(12)]

    assert statuses == [200] * 12


def engine_time(stamp: str) -> tuple[str, int]:
    """An RFC 3339 time from the engine (nanoseconds, trailing zeros trimmed), as a sortable pair."""
    seconds, _, fraction = stamp.rstrip("Z").partition(".")
    return seconds, int((fraction + "000000000")[:9])


def test_a_database_outage_leaves_web_healthy_and_only_readiness_fails(base_url: str, compose: Compose) -> None:
    """Web's container healthcheck is liveness: it does not ask the database, so an orchestrator that
    kills unhealthy containers leaves every web replica alone during a database restart. Counted
    from the health checks Docker ran after the stop (by their own start times), not by waiting."""
    web = container_id(compose, "web")
    stopped_at = engine_time(
        subprocess.run(["docker", "info", "--format", "{{.SystemTime}}"], capture_output=True, text=True).stdout.strip()
    )
    compose("stop", "db")
    try:
        deadline, after_stop = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(after_stop) < 3:
            time.sleep(1)
            inspected = json.loads(subprocess.run(["docker", "inspect", web], capture_output=True, text=True).stdout)[0]
            state = inspected["State"]
            after_stop = [c for c in state["Health"]["Log"] if engine_time(c["Start"]) > stopped_at]
        readiness = smoke.request(base_url, "GET", "/api/health/")
        liveness = smoke.request(base_url, "GET", "/api/health/live/")
    finally:
        compose("up", "--detach", "--wait", "db")

    assert len(after_stop) >= 3, "Docker ran fewer than 3 health checks in 60 s"
    assert [c["ExitCode"] for c in after_stop] == [0] * len(after_stop), after_stop
    assert state["Health"]["Status"] == "healthy" and inspected["RestartCount"] == 0
    assert (readiness.status, readiness.json()["database"]) == (503, "unavailable")
    assert liveness.status == 200
    assert smoke.request(base_url, "GET", "/api/health/").status == 200  # ready again once db is back
