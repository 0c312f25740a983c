"""The fault suite (`make test-faults`; `make test` runs it too): what the stack survives, each
scenario under a bounded load of reads and acknowledged writes through Nginx (load.py), with
every acknowledged write looked up in the database afterwards. Each scenario adds a row to the
table printed at the end of the run (conftest.py): requests, failed requests, longest outage,
acknowledged writes lost."""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import smoke
from load import FAULT_ROWS, Load
from paths import ROOT
from stack import Compose, env_value, free_port, make

FAULT_TABLE: list[tuple[str, int, int, float, int]] = []  # one row per scenario, in order


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
        returned = time.monotonic()
        load.run_for(3)

    failed = load.failed()
    lost = record("deploy under load", compose, load, len(failed))
    assert deployed.returncode == 0, (deployed.stdout + deployed.stderr)[-3000:]
    assert f"deployed {before} -> {target}" in deployed.stdout
    assert serving_version(base_url) == target
    assert not failed, failed[:5]
    assert lost == 0
    # Every client saw the old version first and the new one last, only those two; once the deploy
    # returned, only the new one. (While Nginx reloads, a worker of the old configuration still
    # accepts until it handles the master's QUIT, so a client may meet both in that moment.)
    sequences = load.versions_by_client().values()
    assert all(seq[0] == before and seq[-1] == target and set(seq) == {before, target} for seq in sequences)
    assert {o.version for o in load.outcomes if o.started > returned} == {target}
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


# ---- Crashes -------------------------------------------------------------------------------------
WORKERS_SCRIPT = """
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if stat.rsplit(")", 1)[1].split()[1] == "1" and cmdline.startswith(b"/opt/venv/bin/python"):
        print(pid)
"""


def gunicorn_workers(compose: Compose) -> set[int]:
    """The Gunicorn workers of the web container: the children of its PID 1 (the master). Health
    checks and exec'd processes have no parent inside the container, so they are never counted."""
    listed = compose("exec", "-T", "web", "python", "-c", WORKERS_SCRIPT).stdout
    return {int(pid) for pid in listed.split()}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} within {timeout} s"
        time.sleep(0.2)
    return time.monotonic() - started


def healthy_through_nginx(base_url: str) -> bool:
    try:
        return smoke.request(base_url, "GET", "/api/health/", timeout=3).status == 200
    except OSError:
        return False


def test_a_killed_gunicorn_worker_is_replaced_and_fails_at_most_its_own_request(
    compose: Compose, base_url: str
) -> None:
    workers = gunicorn_workers(compose)
    victim = min(workers)

    with Load(base_url) as load:
        load.run_for(2)
        compose("exec", "-T", "web", "sh", "-c", 'kill -KILL "$1"', "_", str(victim))
        wait_until(
            lambda: victim not in (now := gunicorn_workers(compose)) and len(now) == len(workers),
            15, "the killed worker was not replaced",
        )  # fmt: skip
        load.run_for(2)

    failed = load.failed()
    lost = record("a Gunicorn worker killed (SIGKILL)", compose, load, len(failed))
    # A sync worker serves one request at a time: at most that one fails, as Nginx's JSON 502 when
    # the worker died before answering, or cut short when it died while sending its answer.
    assert len(failed) <= 1, failed
    assert all((o.status == 502 and o.json) or "IncompleteRead" in o.error for o in failed), failed
    assert lost == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to signal a container's process from the host")
def test_web_crashing_comes_back_within_10_s_with_json_errors_meanwhile(compose: Compose, base_url: str) -> None:
    web = web_containers(compose)[0]
    state = inspect(web)["State"]
    workers = len(gunicorn_workers(compose))

    with Load(base_url) as load:
        load.run_for(2)
        # SIGKILL to the main process from outside, as a crash looks (`docker kill` would count as
        # a manual stop, which the restart policy leaves alone).
        os.kill(state["Pid"], signal.SIGKILL)
        wait_until(lambda: not healthy_through_nginx(base_url), 5, "the API still answered after the crash")
        back = wait_until(lambda: healthy_through_nginx(base_url), 10, "the API was not back")
        load.run_for(2)

    failed = load.failed()
    lost = record("web's main process killed", compose, load, len(failed))
    assert inspect(web)["RestartCount"] >= 1, "Docker did not restart web"
    assert back <= 10
    # The answers being sent when the process died are cut short (a sync worker sends one at a
    # time: at most one per worker); every other failure is a JSON 502/503/504 from Nginx.
    cut = [o for o in failed if "IncompleteRead" in o.error]
    assert len(cut) <= workers, cut
    assert all(o.status in (502, 503, 504) and o.json for o in failed if o not in cut), [
        o for o in failed if not o.json
    ][:3]
    assert max(o.seconds for o in load.outcomes) < 10, "a request hung"
    assert lost == 0


# ---- The database --------------------------------------------------------------------------------
def assert_outage_answered_with_json_503(load: Load) -> None:
    failed = load.failed()
    assert all(o.status == 503 and o.json for o in failed), {(o.status, o.json, o.error) for o in failed}
    assert max(o.seconds for o in load.outcomes) < 15, "a request hung"


def test_a_database_restart_is_a_json_503_and_recovers_without_restarting_web(compose: Compose, base_url: str) -> None:
    web = web_containers(compose)[0]
    before = inspect(web)["State"]

    with Load(base_url) as load:
        load.run_for(2)
        compose("restart", "db")
        wait_until(lambda: healthy_through_nginx(base_url), 10, "the API did not recover from the database restart")
        recovered = time.monotonic()  # requests started from here on must all succeed
        load.run_for(3)

    lost = record("PostgreSQL restarted", compose, load, len(load.failed()))
    assert_outage_answered_with_json_503(load)
    assert not [o for o in load.outcomes if o.started >= recovered and o.status >= 500], "errors after the recovery"
    after = inspect(web)["State"]
    assert (after["StartedAt"], after["Status"]) == (before["StartedAt"], "running")
    assert lost == 0


def test_a_database_unreachable_for_20_s_is_a_json_503_and_recovers_within_10_s(
    compose: Compose, base_url: str
) -> None:
    db = compose("ps", "-q", "db").stdout.strip()
    network = next(name for name in inspect(db)["NetworkSettings"]["Networks"] if name.endswith("_back"))
    web = web_containers(compose)[0]
    before = inspect(web)["State"]

    with Load(base_url) as load:
        load.run_for(2)
        subprocess.run(["docker", "network", "disconnect", network, db], check=True, capture_output=True)
        try:
            load.run_for(20)
        finally:
            subprocess.run(
                ["docker", "network", "connect", "--alias", "db", network, db], check=True, capture_output=True
            )
        back = wait_until(
            lambda: healthy_through_nginx(base_url), 10, "the API did not recover once the database was back"
        )
        recovered = time.monotonic()  # requests started from here on must all succeed
        load.run_for(3)

    lost = record("PostgreSQL unreachable for 20 s", compose, load, len(load.failed()))
    assert_outage_answered_with_json_503(load)
    assert [o for o in load.outcomes if o.status == 503], "the outage was not seen"
    assert not [o for o in load.outcomes if o.started >= recovered and o.status >= 500], "errors after the recovery"
    assert back <= 10
    assert inspect(web)["State"]["StartedAt"] == before["StartedAt"]
    assert lost == 0


DISK_FULL_FILES = ["-f", "docker-compose.yml", "-f", "tests/disk-full.compose.yml"]


@pytest.fixture
def small_disk_stack(tmp_path: Path) -> Iterator[tuple[Compose, str, str]]:
    """A throwaway stack of its own whose data volume is a 192 MB tmpfs (tests/disk-full.compose.yml):
    yields its compose, its HTTPS URL and the data volume's name; removed with its volumes after."""
    env, project = tmp_path / "disk.env", f"diskfull-{secrets.token_hex(3)}"
    subprocess.run(
        [sys.executable, "scripts/init_env.py", "--set", f"COMPOSE_PROJECT_NAME={project}",
         "--set", f"HTTP_PORT={free_port()}", "--set", f"HTTPS_PORT={free_port()}",
         "--set", "AUTH_THROTTLE_RATE=100000/min", "--set", f"BACKUP_DIR={tmp_path / 'backups'}",
         "--set", "BACKUP_START_DELAY=86400", str(env)],
        cwd=ROOT, capture_output=True, check=True,
    )  # fmt: skip

    def run(*args: str, check: bool = True, stdin: str | None = None, timeout: float = 600):
        done = subprocess.run(
            ["docker", "compose", "--env-file", str(env), *DISK_FULL_FILES, *args],
            cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if check and done.returncode != 0:
            pytest.fail(f"docker compose {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    try:
        started = make(str(env), "up", f"UP_FILES={' '.join(DISK_FULL_FILES)}")
        assert started.returncode == 0, (started.stdout + started.stderr)[-3000:]
        port = run("port", "nginx", "443").stdout.strip().rpartition(":")[2]
        yield run, f"https://127.0.0.1:{port}", f"{project}_pgdata"
    finally:
        run("down", "--volumes", "--remove-orphans", check=False, timeout=300)
        tags = [f"{project}-{image}" for image in ("web", "nginx")]
        subprocess.run(["docker", "image", "rm", *tags], capture_output=True, check=False)


def test_a_full_data_volume_fails_writes_with_json_503_keeps_reads_and_recovers(
    small_disk_stack: tuple[Compose, str, str],
) -> None:
    compose, base_url, volume = small_disk_stack
    db = compose("ps", "-q", "db").stdout.strip()
    web = web_containers(compose)[0]
    on_volume = ["docker", "run", "--rm", "--user", "0", "-v", f"{volume}:/data", inspect(db)["Config"]["Image"]]

    with Load(base_url) as load:
        load.run_for(2)
        # Another process fills the data volume to its last byte (its own container: tmpfs pages are
        # charged to the writer's memory, and db's limit must not pay for them).
        subprocess.run([*on_volume, "sh", "-c", "dd if=/dev/zero of=/data/ballast bs=1M 2>/dev/null; true"], check=True)
        filled = time.monotonic()
        wait_until(
            lambda: any(o.kind == "write" and o.status == 503 for o in load.outcomes),
            60, "no write failed on the full data volume",
        )  # fmt: skip
        load.run_for(2)
        subprocess.run([*on_volume, "rm", "/data/ballast"], check=True)
        freed = time.monotonic()
        wait_until(
            lambda: any(o.kind == "write" and o.status == 201 and o.started > freed for o in load.outcomes),
            10, "writes did not recover once space was freed",
        )  # fmt: skip
        recovered = time.monotonic()
        load.run_for(3)

    lost = record("database data volume full", compose, load, len(load.failed()))
    failed = load.failed()
    assert not [o for o in failed if o.kind == "read"], "a read failed while the data volume was full"
    assert all(o.status == 503 and o.json and filled <= o.started <= recovered for o in failed), [
        (o.status, o.json, o.error) for o in failed
    ][:5]
    assert not [o for o in load.outcomes if o.started >= recovered and o.status >= 500], "errors after the recovery"
    assert inspect(db)["RestartCount"] == 0 and inspect(web)["RestartCount"] == 0
    db_log = compose("logs", "--no-color", "db").stdout
    assert "No space left on device" in db_log and "PANIC" not in db_log, db_log[-2000:]
    assert lost == 0


# ---- Nginx -----------------------------------------------------------------------------------------
def test_nginx_reloads_under_load_fail_no_request(compose: Compose, base_url: str) -> None:
    with Load(base_url) as load:
        load.run_for(1)
        for _ in range(5):
            compose("exec", "-T", "nginx", "nginx", "-s", "reload")
            load.run_for(1)

    failed = load.failed()
    lost = record("Nginx reloaded 5 times", compose, load, len(failed))
    assert not failed, failed[:5]
    assert lost == 0


HOG_SCRIPT = """
import os, time, psycopg
held = []
while True:  # every slot it can get, and each one that frees up
    try:
        held.append(psycopg.connect(os.environ["HOG_URL"], application_name="slot-hog", connect_timeout=2))
    except psycopg.OperationalError:
        time.sleep(0.05)
"""


def test_connection_slots_taken_by_another_client_are_json_503s_until_released(
    compose: Compose, env_file: str, base_url: str
) -> None:
    def sql(query: str) -> str:
        return compose(
            "exec", "-T", "db", "sh", "-c", 'psql -At -U "$POSTGRES_USER" -d postgres', stdin=query
        ).stdout.strip()  # fmt: skip

    db, web = compose("ps", "-q", "db").stdout.strip(), web_containers(compose)[0]
    network = next(name for name in inspect(db)["NetworkSettings"]["Networks"] if name.endswith("_back"))
    owner_password = env_value(env_file, "DATABASE_OWNER_PASSWORD")
    limit = int(
        sql("SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int")
    )
    taken = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slot-hog'"
    # Every client connection but the other client's and this psql's (the superuser's own slots).
    others = "backend_type = 'client backend' AND application_name <> 'slot-hog' AND usename <> current_user"
    in_use = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename <> current_user"

    with Load(base_url) as load:
        load.run_for(2)
        # Another client on the database's network, as an ordinary role, takes every slot it can.
        hog = subprocess.run(
            ["docker", "run", "--detach", "--rm", "--network", network,
             "-e", f"HOG_URL=postgresql://app_owner:{owner_password}@db:5432/postgres",
             inspect(web)["Config"]["Image"], "python", "-c", HOG_SCRIPT],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        try:
            wait_until(
                lambda: int(sql(in_use)) >= limit and int(sql(taken)) > 0, 30, "the other client did not take the slots"
            )
            # The app's connections are persistent and keep serving. Now it needs new ones, and none is
            # to be had: web is frozen while every connection but the other client's is cut, the other
            # client takes each freed slot (it retries every 50 ms), and only then does web run again.
            # (Restarting workers instead left a race for the freed slots that web sometimes won.)
            load.run_for(1)
            subprocess.run(["docker", "pause", web], capture_output=True, check=True)
            try:
                sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}")
                wait_until(lambda: int(sql(in_use)) >= limit, 15, "the other client did not take the freed slots")
            finally:
                subprocess.run(["docker", "unpause", web], capture_output=True, check=True)
            load.run_for(4)
            refused = [o for o in load.outcomes if o.status == 503]
        finally:
            subprocess.run(["docker", "rm", "--force", hog], capture_output=True, check=False)
        back = wait_until(
            lambda: healthy_through_nginx(base_url), 10, "the API did not recover once the slots were free"
        )
        recovered = time.monotonic()
        load.run_for(3)

    lost = record("connection slots exhausted", compose, load, len(load.failed()))
    assert refused, "the exhausted slots were never seen"
    assert_outage_answered_with_json_503(load)
    assert not [o for o in load.outcomes if o.started >= recovered and o.status >= 500], "errors after the recovery"
    assert back <= 10
    assert lost == 0


def test_make_down_under_load_finishes_in_flight_requests_and_shuts_the_database_down_cleanly(
    compose: Compose, env_file: str, base_url: str
) -> None:
    with Load(base_url) as load:
        load.run_for(3)
        down_started = time.monotonic()
        stopped = make(env_file, "down")
        load.run_for(1)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    started = make(env_file, "up")
    assert started.returncode == 0, (started.stdout + started.stderr)[-3000:]

    # Once Nginx stops listening, connections are refused, or (Docker's port proxy accepts them
    # for a dead end) reset before any answer. A request Nginx had taken and lost on the way would
    # be its JSON 502/504 (web gone) or a request left without an answer (a timeout).
    cut = [o for o in load.failed() if o.status != 0 or "timed out" in o.error]
    lost = record("make down under load, then make up", compose, load, len(cut))
    assert not cut, cut[:5]
    assert [o for o in load.outcomes if o.started > down_started and o.status in (200, 201)], "no request was in flight"
    assert lost == 0
    # The database stopped cleanly: its next start needed no crash recovery.
    db_log = compose("logs", "--no-color", "db").stdout
    last_start = db_log.rsplit("starting PostgreSQL", 1)[-1]
    assert "automatic recovery in progress" not in last_start and "was interrupted" not in last_start, last_start[
        -2000:
    ]
