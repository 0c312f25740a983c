"""The fault suite (`make test-faults`; `make test` runs it too): what the stack survives, each
scenario under a bounded load of reads and acknowledged writes through Nginx (load.py), with
every acknowledged write looked up in the database afterwards. Each scenario adds a row to the
table printed at the end of the run (conftest.py): requests, failed requests, longest outage,
acknowledged writes lost."""

import json
import secrets
import subprocess

import pytest

import smoke
from load import FAULT_ROWS, Load
from stack import ROOT_MAKE, Compose

FAULT_TABLE: list[tuple[str, int, int, float, int]] = []  # one row per scenario, in order


def make(env_file: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ROOT_MAKE, *args, f"ENV_FILE={env_file}"], capture_output=True, text=True, timeout=timeout)


def lost_writes(compose: Compose, ids: list[int]) -> int:
    """How many of these acknowledged note ids the database does not have."""
    if not ids:
        return 0
    found = compose(
        "exec", "-T", "db", "sh", "-c", 'psql -At -U "$POSTGRES_USER" -d app',
        stdin=f"SELECT count(*) FROM notes_note WHERE id IN ({','.join(map(str, ids))})",
    ).stdout.strip()  # fmt: skip
    return len(set(ids)) - int(found)


def record(scenario: str, compose: Compose, load: Load, failed: int) -> int:
    lost = lost_writes(compose, load.acknowledged)
    FAULT_TABLE.append((scenario, len(load.outcomes), failed, load.longest_outage(), lost))
    return lost


def web_containers(compose: Compose) -> list[str]:
    return sorted(compose("ps", "-q", "--status", "running", "web").stdout.split())


def inspect(container: str) -> dict:
    done = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


def serving_version(base_url: str) -> str:
    reply = smoke.request(base_url, "GET", "/api/health/")
    assert reply.status == 200, reply.body
    assert reply.headers["x-app-version"] == reply.json()["version"]
    return str(reply.json()["version"])


def test_a_deploy_under_load_fails_no_request_and_switches_version_once(
    compose: Compose, env_file: str, base_url: str
) -> None:
    before, old = serving_version(base_url), web_containers(compose)
    target = f"fault-next-{secrets.token_hex(3)}"

    with Load(base_url) as load:
        load.run_for(3)
        deployed = make(env_file, "deploy", f"APP_VERSION={target}")
        load.run_for(3)

    failed = load.failed()
    lost = record("deploy under load", compose, load, len(failed))
    assert deployed.returncode == 0, (deployed.stdout + deployed.stderr)[-3000:]
    assert f"deployed {before} -> {target}" in deployed.stdout
    assert serving_version(base_url) == target
    assert not failed, failed[:5]
    assert lost == 0
    # Every client saw the old version, then the new one, and never the old one again.
    assert set(map(tuple, load.versions_by_client().values())) == {(before, target)}
    new = web_containers(compose)
    assert len(new) == len(old) and not set(new) & set(old)


def test_a_deploy_whose_image_never_gets_healthy_rolls_back_with_no_failed_request(
    compose: Compose, env_file: str, base_url: str
) -> None:
    before, old = serving_version(base_url), web_containers(compose)
    image, old_image = inspect(old[0])["Config"]["Image"], inspect(old[0])["Image"]
    # The running image with a health check that always fails, tagged as the next release.
    broken = (
        f"FROM {old_image}\nENV APP_VERSION=broken-{secrets.token_hex(3)}\nUSER 0\n"
        "RUN echo 'raise SystemExit(1)' > /app/config/healthcheck.py\nUSER 10001:10001\n"
    )
    subprocess.run(
        ["docker", "build", "--quiet", "-t", image, "-"], input=broken, text=True, check=True, capture_output=True
    )

    with Load(base_url) as load:
        load.run_for(2)
        deployed = make(env_file, "deploy", "NO_BUILD=1")
        load.run_for(2)

    failed = load.failed()
    lost = record("deploy of an unhealthy image", compose, load, len(failed))
    output = deployed.stdout + deployed.stderr
    assert deployed.returncode != 0, output[-3000:]
    assert "is unhealthy" in deployed.stderr and f"version {before} kept serving throughout" in deployed.stderr, output[
        -3000:
    ]
    assert web_containers(compose) == old
    assert inspect(image)["Id"] == old_image, "the image tag still names the broken build"
    assert serving_version(base_url) == before
    assert not failed, failed[:5]
    assert lost == 0
    assert {tuple(v) for v in load.versions_by_client().values()} == {(before,)}


@pytest.fixture(scope="module", autouse=True)
def fault_table(request: pytest.FixtureRequest) -> None:
    """Hand the rows to the terminal summary (conftest.py), which prints them after the run."""
    request.config.stash[FAULT_ROWS] = FAULT_TABLE
