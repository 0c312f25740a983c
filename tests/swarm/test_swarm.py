"""The stack on a real Docker Swarm (`make test-swarm`; `make test` runs it last): deployed by
`make swarm-up` on a throwaway stack (its own name, ports and env file), reached only through
Nginx's published port on 127.0.0.1, checked under a bounded load of reads and acknowledged
writes (tests/e2e/load.py), and removed by `make swarm-down`, which must leave the engine as it
found it (a swarm it initialised is left again), also when a test fails.

The tests run in file order and build on each other (scaled to 3, then updated, then rolled back).
"""

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import smoke
from load import Load
from paths import ROOT
from stack import free_port
from swarm import containers_on_user_networks

PROJECT = f"{ROOT.name.lower()}-swarmtest".replace(".", "")


@dataclass
class SwarmStack:
    env_file: Path
    name: str
    base_url: str
    swarm_before: str
    volumes_before: set[str]

    def make(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", *args, f"ENV_FILE={self.env_file}"],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def service(self, name: str) -> dict:  # type: ignore[type-arg]
        return json.loads(docker("service", "inspect", f"{self.name}_{name}"))[0]  # type: ignore[no-any-return]

    def running_tasks(self, name: str) -> dict[str, str]:
        """The service's tasks that are running now: task id -> the image it runs."""
        ids = docker(
            "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", f"{self.name}_{name}"
        ).split()
        tasks = json.loads(docker("inspect", *ids)) if ids else []
        return {t["ID"]: t["Spec"]["ContainerSpec"]["Image"] for t in tasks if t["Status"]["State"] == "running"}

    def sql(self, query: str) -> str:
        container = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={self.name}_db").split()[0]
        return docker("exec", "-i", container, "sh", "-c", 'psql -At -U "$POSTGRES_USER" -d app', stdin=query)


def docker(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def serving_version(base_url: str) -> str:
    reply = smoke.request(base_url, "GET", "/api/health/")
    assert reply.status == 200, reply.body
    return str(reply.json()["version"])


def swarm_state() -> str:
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(1)


def leftovers(name: str) -> dict[str, str]:
    """What of the stack is still on the engine: containers, networks, volumes, secrets, configs."""
    label = f"com.docker.stack.namespace={name}"
    found = {
        "containers": docker("ps", "-aq", "--filter", f"label={label}"),
        "networks": docker("network", "ls", "-q", "--filter", f"label={label}"),
        "volumes": docker("volume", "ls", "-q", "--filter", f"label={label}"),
    }
    if swarm_state() == "active":
        found["secrets"] = docker("secret", "ls", "-q", "--filter", f"label=djstack.stack={name}")
        found["configs"] = docker("config", "ls", "-q", "--filter", f"label=djstack.stack={name}")
    return {kind: ids for kind, ids in found.items() if ids}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwarmStack]:
    env_file = tmp_path_factory.mktemp("swarm") / "swarm.env"
    https_port = free_port()
    subprocess.run(
        [sys.executable, "scripts/init_env.py", "--set", f"COMPOSE_PROJECT_NAME={PROJECT}",
         "--set", f"HTTP_PORT={free_port()}", "--set", f"HTTPS_PORT={https_port}",
         "--set", "AUTH_THROTTLE_RATE=100000/min", "--set", "WRITE_THROTTLE_RATE=100000/min",
         "--set", "WEB_REPLICAS=2", str(env_file)],
        cwd=ROOT, capture_output=True, check=True,
    )  # fmt: skip
    volumes = set(docker("volume", "ls", "-q").split())
    deployed = SwarmStack(env_file, PROJECT, f"https://127.0.0.1:{https_port}", swarm_state(), volumes)
    try:
        up = deployed.make("swarm-up")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        smoke.use_ca(str(ROOT / "certs" / "local.crt"))
        yield deployed
    finally:
        deployed.make("swarm-down", "VOLUMES=1", timeout=300)
        tags = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", f"{PROJECT}-*").split()
        subprocess.run(["docker", "image", "rm", *tags], capture_output=True, check=False)


def test_swarm_up_deploys_a_stack_that_passes_the_smoke_checks(stack: SwarmStack) -> None:
    smoked = stack.make("swarm-smoke")

    assert smoked.returncode == 0, smoked.stdout + smoked.stderr
    assert "smoke: all checks passed" in smoked.stdout
    assert len(stack.running_tasks("web")) == 2


def test_the_migrate_job_completed_before_web_ran_the_new_image(stack: SwarmStack) -> None:
    migrate, web = stack.service("migrate"), stack.service("web")
    finished = json.loads(
        docker("inspect", *docker("service", "ps", "-q", "--no-trunc", f"{stack.name}_migrate").split())
    )
    done = [t for t in finished if t["Status"]["State"] == "complete"]
    web_tasks = json.loads(docker("inspect", *stack.running_tasks("web")))

    assert (
        done
        and migrate["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        == web["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    )
    # This image's migrations were applied before any web task of this image was created.
    assert min(t["Status"]["Timestamp"] for t in done) < min(t["CreatedAt"] for t in web_tasks)


def test_scaled_to_three_every_replica_serves(stack: SwarmStack) -> None:
    docker("service", "scale", "--detach=false", f"{stack.name}_web=3")
    tasks = stack.running_tasks("web")
    assert len(tasks) == 3
    time.sleep(2)  # Nginx's resolver cache (1 s) sees the new addresses
    ids = []
    for _ in range(60):
        reply = smoke.request(stack.base_url, "GET", "/api/health/")
        assert reply.status == 200
        ids.append(reply.headers["x-request-id"])

    # Which task logged each of these requests: `docker service logs` prefixes each line with the
    # task that wrote it (stack_web.SLOT.TASK_ID@NODE | ...).
    logs = subprocess.run(
        ["docker", "service", "logs", "--no-trunc", f"{stack.name}_web"], capture_output=True, text=True, timeout=60
    )
    served_by = {
        line.split("|", 1)[0].strip().split("@")[0].rsplit(".", 1)[1]
        for line in (logs.stdout + logs.stderr).splitlines()
        if "|" in line and any(request_id in line for request_id in ids)
    }
    assert served_by == set(tasks)


def test_a_rolling_update_under_load_fails_no_request_and_loses_no_write(stack: SwarmStack) -> None:
    before = set(stack.running_tasks("web").values())
    old_version = serving_version(stack.base_url)
    with Load(stack.base_url) as load:
        load.run_for(3)
        updated = stack.make("swarm-up", "WEB_REPLICAS=3", f"APP_VERSION=swarmtest-{secrets.token_hex(3)}")
        load.run_for(3)
    after = set(stack.running_tasks("web").values())
    failed = load.failed()
    ids = ",".join(map(str, load.acknowledged))
    stored = int(stack.sql(f"SELECT count(*) FROM notes_note WHERE id IN ({ids})")) if ids else 0
    longest = max(o.seconds for o in load.outcomes)
    print(f"\nrolling update: {len(load.outcomes)} requests, {len(failed)} failed, longest {longest:.2f} s")

    assert updated.returncode == 0, updated.stdout[-3000:] + updated.stderr[-3000:]
    assert len(after) == 1 and after != before and len(stack.running_tasks("web")) == 3
    assert not failed, failed[:5]
    assert stored == len(set(load.acknowledged)) > 0
    # Old and new replicas answered side by side during the update; only the new one after it.
    new_versions = {serving_version(stack.base_url) for _ in range(12)}
    assert len(new_versions) == 1 and old_version not in new_versions
    assert {o.version for o in load.outcomes} == {old_version} | new_versions


def test_an_image_that_never_gets_healthy_is_rolled_back_with_no_failed_request(stack: SwarmStack) -> None:
    good = stack.service("web")["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    broken = f"{PROJECT}-web:broken"
    docker(
        "build",
        "-q",
        "-t",
        broken,
        "-",
        stdin=f'FROM {good}\nCMD ["sh", "-c", "echo a broken build >&2; sleep 8; exit 3"]\n',
    )
    with Load(stack.base_url) as load:
        load.run_for(2)
        docker("service", "update", "--detach", "--image", broken, f"{stack.name}_web")
        wait_until(
            lambda: (stack.service("web").get("UpdateStatus") or {}).get("State") == "rollback_completed",
            240, "the update rolled back",
        )  # fmt: skip
        load.run_for(2)
    failed = load.failed()
    longest = max(o.seconds for o in load.outcomes)
    print(f"\nrollback: {len(load.outcomes)} requests, {len(failed)} failed, longest {longest:.2f} s")

    assert set(stack.running_tasks("web").values()) == {good}
    assert not failed, failed[:5]


def test_a_database_restart_restarts_no_web_task(stack: SwarmStack) -> None:
    web_before = stack.running_tasks("web")
    db_before = stack.running_tasks("db")

    docker("service", "update", "--detach=false", "--force", f"{stack.name}_db")
    wait_until(lambda: smoke.request(stack.base_url, "GET", "/api/health/").status == 200, 60, "ready again")

    assert stack.running_tasks("db").keys().isdisjoint(db_before)
    assert stack.running_tasks("web") == web_before


def test_swarm_down_leaves_the_engine_as_it_found_it(stack: SwarmStack) -> None:
    # Containers of a Compose stack running beside (yours, not this suite's) keep the swarm: leaving
    # it would break their name resolution.
    beside = [name for name in containers_on_user_networks() if not name.startswith(f"{stack.name}_")]
    down = stack.make("swarm-down", "VOLUMES=1", timeout=300)

    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers(stack.name) == {}
    if beside and stack.swarm_before == "inactive":
        assert swarm_state() == "active" and "The swarm is kept" in down.stdout
    else:
        assert swarm_state() == stack.swarm_before
    # Anonymous volumes too (the jobs' image declares some): none made here is left.
    assert set(docker("volume", "ls", "-q").split()) - stack.volumes_before == set()
