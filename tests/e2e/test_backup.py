"""Backups and restores against the running test stack, driven as an operator drives them: `make
backup`, `make restore`, `make restore-undo`, `make restore-drop`, and the backup service's own
schedule and retention (db/backup.sh)."""

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import smoke
from stack import Compose, env_value, login, make

STAMP = "%Y%m%dT%H%M%SZ"


@pytest.fixture(scope="module")
def backup_dir(env_file: str) -> Path:
    """The test stack's BACKUP_DIR (make test points it at a temporary folder)."""
    return Path(env_value(env_file, "BACKUP_DIR"))


def take_backup(env_file: str) -> Path:
    """`make backup`; the path of the backup it reports."""
    result = make(env_file, "backup")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "verified" in output
    found = re.search(r"backup: (\S+\.dump) \(", output)
    assert found, output[-3000:]
    return Path(found.group(1))


def psql(compose: Compose, sql: str, database: str = "app") -> str:
    """A query as the superuser, inside the db container (what a client cannot see)."""
    return compose(
        "exec", "-T", "db", "sh", "-c", 'psql -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$1"', "_", database,
        stdin=sql,
    ).stdout.strip()  # fmt: skip


def wait_healthy(base_url: str) -> None:
    """Until the API answers through Nginx again (its resolver may still hold web's old address)."""
    deadline = time.monotonic() + 30
    while smoke.request(base_url, "GET", "/api/health/").status != 200:
        assert time.monotonic() < deadline, "the API did not come back after the restore"
        time.sleep(0.5)


class Account:
    """A user registered through the API, with the notes it created."""

    def __init__(self, base_url: str, tag: str) -> None:
        self.base_url = base_url
        self.username = f"bk-{tag}-{secrets.token_hex(3)}"
        self.password = secrets.token_urlsafe(16)
        reply = smoke.request(
            base_url, "POST", "/api/auth/register/",
            json_body={"username": self.username, "email": f"{self.username}@example.com", "password": self.password},
        )  # fmt: skip
        assert reply.status == 201, reply.body

    def token(self) -> str:
        reply = login(self.base_url, self.username, self.password)
        assert reply.status == 200, reply.body
        return str(reply.json()["access"])

    def create_note(self, token: str, title: str) -> int:
        reply = smoke.request(
            self.base_url,
            "POST",
            "/api/notes/",
            json_body={"title": title, "body": title * 3},
            headers=smoke.bearer(token),
        )
        assert reply.status == 201, reply.body
        return int(reply.json()["id"])

    def notes(self, token: str) -> dict[int, tuple[str, str]]:
        found: dict[int, tuple[str, str]] = {}
        path: str | None = "/api/notes/"
        while path:
            reply = smoke.request(self.base_url, "GET", path, headers=smoke.bearer(token))
            assert reply.status == 200, reply.body
            page = reply.json()
            found |= {note["id"]: (note["title"], note["body"]) for note in page["results"]}
            path = page["next"] and re.sub(r"^https?://[^/]+", "", page["next"])
        return found


def test_a_restore_brings_back_exactly_the_backup_and_undo_brings_back_what_it_replaced(
    compose: Compose, env_file: str, base_url: str, backup_dir: Path
) -> None:
    side_databases = "SELECT datname FROM pg_database WHERE datname ~ '^app_(previous|undone|restore)_' ORDER BY 1"
    already_there = set(psql(compose, side_databases, "postgres").splitlines())  # an operator's, or an earlier run's
    alice, bob = Account(base_url, "alice"), Account(base_url, "bob")
    alice_token, bob_token = alice.token(), bob.token()
    for n in range(3):
        alice.create_note(alice_token, f"alice {n}")
        bob.create_note(bob_token, f"bob {n}")
    alice_before, bob_before = alice.notes(alice_token), bob.notes(bob_token)

    backup = take_backup(env_file)
    manifest = json.loads((backup_dir / backup.name).with_suffix(".json").read_text())
    assert manifest["tables"]["public.notes_note"]["rows"] >= 6
    assert "accounts" in manifest["migrations"] and manifest["file"] == backup.name

    # After the backup: a note deleted, one edited, a new user with a note.
    deleted = next(iter(alice_before))
    assert smoke.request(base_url, "DELETE", f"/api/notes/{deleted}/", headers=smoke.bearer(alice_token)).status == 204
    edited = next(iter(bob_before))
    assert smoke.request(
        base_url, "PATCH", f"/api/notes/{edited}/", json_body={"title": "changed"}, headers=smoke.bearer(bob_token)
    ).status == 200  # fmt: skip
    carol = Account(base_url, "carol")
    carol.create_note(carol.token(), "after the backup")

    # A session left open on the live database (a forgotten psql, a BI tool) does not stop the swap.
    compose("exec", "-d", "db", "sh", "-c", 'psql -U "$POSTGRES_USER" -d app -c "SELECT pg_sleep(600)"')
    deadline = time.monotonic() + 10
    while (
        psql(
            compose,
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()",
        )
        != "1"
    ):
        assert time.monotonic() < deadline, "the idle session did not start"
        time.sleep(0.2)

    restored = make(env_file, "restore", f"BACKUP={backup_dir / backup.name}", "CONFIRM=yes")
    assert restored.returncode == 0, (restored.stdout + restored.stderr)[-3000:]
    previous = re.search(r"make restore-undo PREVIOUS=(\S+)\)", restored.stdout)
    assert previous, restored.stdout
    wait_healthy(base_url)

    # Every user signs in with the old password and sees exactly the old notes; carol is gone.
    assert alice.notes(alice.token()) == alice_before
    assert bob.notes(bob.token()) == bob_before
    assert login(base_url, carol.username, carol.password).status == 401
    # The runtime role has its rows in the restored database (db-roles ran again at the start).
    assert psql(compose, "SELECT has_table_privilege('app', 'notes_note', 'INSERT')") == "t"

    # The undo brings back the database as it was just before the restore, intact.
    undone = make(env_file, "restore-undo", f"PREVIOUS={previous.group(1)}", "CONFIRM=yes")
    assert undone.returncode == 0, (undone.stdout + undone.stderr)[-3000:]
    wait_healthy(base_url)
    assert deleted not in alice.notes(alice.token())
    assert bob.notes(bob.token())[edited][0] == "changed"
    assert carol.notes(carol.token())

    # The kept database went live again; the restored one is kept in its turn, under the name the output gives.
    replaced = re.search(r"the one it replaced is kept as (\S+)", undone.stdout)
    assert replaced, undone.stdout
    kept = set(psql(compose, side_databases, "postgres").splitlines()) - already_there
    assert kept == {replaced.group(1)}
    dropped = make(env_file, "restore-drop", f"DATABASE={replaced.group(1)}", "CONFIRM=yes")
    assert dropped.returncode == 0, dropped.stderr
    assert set(psql(compose, side_databases, "postgres").splitlines()) == already_there
    refused = make(env_file, "restore-drop", "DATABASE=app", "CONFIRM=yes")
    assert refused.returncode != 0 and "live database" in refused.stderr


def test_a_restore_without_confirmation_and_without_a_terminal_changes_nothing(env_file: str, backup_dir: Path) -> None:
    backup = take_backup(env_file)

    result = make(env_file, "restore", f"BACKUP={backup_dir / backup.name}")

    assert result.returncode != 0
    assert "not confirmed" in result.stderr and "Swapped" not in result.stdout


def test_a_backup_taken_under_write_load_is_consistent_and_the_writers_see_no_errors(
    compose: Compose, env_file: str, base_url: str, backup_dir: Path
) -> None:
    writers = [Account(base_url, f"w{n}") for n in range(4)]
    acknowledged: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def write(account: Account) -> None:
        token = account.token()
        n = 0
        while not stop.is_set():
            reply = smoke.request(
                base_url,
                "POST",
                "/api/notes/",
                json_body={"title": f"load {n}", "body": "x"},
                headers=smoke.bearer(token),
            )
            if reply.status == 201:
                acknowledged.append(int(reply.json()["id"]))
            else:
                failures.append(f"{reply.status} {reply.body[:200]!r}")
            n += 1
            stop.wait(0.6)  # under WRITE_THROTTLE_RATE (120/min per user)

    threads = [threading.Thread(target=write, args=(account,)) for account in writers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        before = len(acknowledged)
        backup = take_backup(env_file)
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    after = len(acknowledged)

    assert failures == []
    assert after > before > 0, "the load loop wrote nothing"
    # The manifest's counts come from the dump's own snapshot, and the backup was verified against
    # them (restored in a scratch cluster, foreign keys re-created: every note has its user).
    manifest = json.loads((backup_dir / backup.name).with_suffix(".json").read_text())
    in_backup = manifest["tables"]["public.notes_note"]["rows"]
    total_now = int(psql(compose, "SELECT count(*) FROM notes_note"))
    assert total_now - (after - before) <= in_backup <= total_now
    verified = make(env_file, "backup-verify", f"BACKUP={backup_dir / backup.name}")
    assert verified.returncode == 0 and "verified" in verified.stderr, verified.stderr[-2000:]


@pytest.fixture
def damaged_dir(backup_dir: Path) -> Iterator[Path]:
    folder = backup_dir.parent / f"damaged-{secrets.token_hex(3)}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def copy_backup(backup: Path, backup_dir: Path, folder: Path) -> tuple[Path, dict]:
    for suffix in (".dump", ".json"):
        shutil.copy2((backup_dir / backup.name).with_suffix(suffix), folder)
    return folder / backup.name, json.loads((backup_dir / backup.name).with_suffix(".json").read_text())


def refit_manifest(dump: Path, manifest: dict) -> None:
    """A manifest whose size and SHA-256 match the file: only deeper checks can refuse it."""
    digest = subprocess.run(["sha256sum", str(dump)], capture_output=True, text=True, check=True).stdout.split()[0]
    manifest |= {"bytes": dump.stat().st_size, "sha256": digest}
    dump.with_suffix(".json").write_text(json.dumps(manifest))


def live_state(compose: Compose) -> str:
    return psql(compose, "SELECT count(*), coalesce(max(id), 0), (SELECT count(*) FROM accounts_user) FROM notes_note")


def test_a_damaged_or_foreign_backup_is_refused_and_the_live_data_is_untouched(
    compose: Compose, env_file: str, base_url: str, backup_dir: Path, damaged_dir: Path
) -> None:
    older = take_backup(env_file)
    older_dir = damaged_dir / "older"  # retention keeps one backup a day: the next one replaces it
    older_dir.mkdir()
    older_dump, _ = copy_backup(older, backup_dir, older_dir)
    writer = Account(base_url, "dmg")
    writer.create_note(writer.token(), "between the two backups")
    newer = take_backup(env_file)
    live = live_state(compose)
    cases: list[tuple[str, Path, str]] = []

    truncated_dir = damaged_dir / "truncated"
    truncated_dir.mkdir()
    dump, _ = copy_backup(newer, backup_dir, truncated_dir)
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    cases.append(("truncated", dump, "truncated or altered"))

    flipped_dir = damaged_dir / "flipped"
    flipped_dir.mkdir()
    dump, _ = copy_backup(newer, backup_dir, flipped_dir)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    cases.append(("flipped byte", dump, "SHA-256 does not match"))

    # A dump of another database, under a manifest that fits the file.
    foreign_dir = damaged_dir / "foreign"
    foreign_dir.mkdir()
    dump, manifest = copy_backup(newer, backup_dir, foreign_dir)
    psql(compose, "DROP DATABASE IF EXISTS elsewhere; CREATE DATABASE elsewhere;", "postgres")
    try:
        psql(compose, "CREATE TABLE things (id int); INSERT INTO things VALUES (1);", "elsewhere")
        foreign = compose("exec", "-T", "db", "sh", "-c", 'pg_dump -U "$POSTGRES_USER" -Fc elsewhere | base64 -w0')
    finally:
        psql(compose, "DROP DATABASE IF EXISTS elsewhere", "postgres")

    dump.write_bytes(base64.b64decode(foreign.stdout))
    refit_manifest(dump, manifest)
    cases.append(("another database", dump, "dump of database 'elsewhere'"))

    # This database's older backup under the newer one's manifest: it restores, and the restored
    # copy does not match the manifest.
    swapped_dir = damaged_dir / "swapped"
    swapped_dir.mkdir()
    dump, manifest = copy_backup(newer, backup_dir, swapped_dir)
    shutil.copyfile(older_dump, dump)
    refit_manifest(dump, manifest)
    cases.append(("another backup's contents", dump, "differs from the manifest"))

    for label, path, reason in cases:
        result = make(env_file, "restore", f"BACKUP={path}", "CONFIRM=yes")
        assert result.returncode != 0, f"{label}: accepted\n{result.stdout}"
        assert reason in result.stderr, f"{label}: {result.stderr[-1500:]}"
        assert "Swapped" not in result.stdout

    assert live_state(compose) == live
    assert (
        psql(compose, "SELECT count(*) FROM pg_database WHERE datname ~ '^app_(restore|previous)_'", "postgres") == "0"
    )
    assert writer.notes(writer.token())


def run_backup_shell(
    compose: Compose, script: str, *options: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """A shell in a one-off backup container (the service's image, hardening and credentials)."""
    return compose(
        "run", "--rm", "--no-deps", "-T", *options, "--entrypoint", "bash", "backup", "-c", script,
        check=False, timeout=timeout,
    )  # fmt: skip


def test_a_backup_that_runs_out_of_disk_fails_loudly_and_leaves_no_partial_file(compose: Compose) -> None:
    volume = f"backup-full-{secrets.token_hex(4)}"
    subprocess.run(
        ["docker", "volume", "create", "--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
         "--opt", "o=size=1m", volume],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        result = run_backup_shell(
            compose,
            # 16 KiB left: less than any dump of this schema, more than an error needs.
            "head -c $((1008 * 1024)) /dev/zero > /small/filler; bash /db/backup.sh backup; echo rc=$?; ls -A /small",
            "--volume", f"{volume}:/small", "-e", "BACKUP_DIR_IN_CONTAINER=/small",
        )  # fmt: skip
    finally:
        subprocess.run(["docker", "volume", "rm", volume], capture_output=True, check=False)

    assert "rc=1" in result.stdout, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("backup: error:")]
    assert len(errors) == 1 and "no backup was kept" in errors[0], result.stderr
    left = result.stdout.split("rc=1", 1)[1].split()
    assert not [name for name in left if name.endswith((".dump", ".json", ".partial"))], left


def expected_retention(stamps: list[datetime], daily: int, weekly: int, monthly: int) -> set[datetime]:
    """The rule, written apart from the script: the newest backup of each of the last N days,
    ISO weeks and months that have one, and the newest of all."""
    newest_first = sorted(stamps, reverse=True)
    keep = {newest_first[0]}
    for count, period in (
        (daily, lambda t: t.date()),
        (weekly, lambda t: t.isocalendar()[:2]),
        (monthly, lambda t: (t.year, t.month)),
    ):
        seen: list[object] = []
        for stamp in newest_first:
            if period(stamp) not in seen and len(seen) < count:
                seen.append(period(stamp))
                keep.add(stamp)
    return keep


def test_retention_keeps_exactly_the_configured_set(compose: Compose) -> None:
    # 400 days of backups, several a day, ending at an arbitrary moment: the clock is the stamps.
    end = datetime(2027, 3, 14, 23, 10, tzinfo=UTC)
    stamps = sorted({end - timedelta(hours=7 * n + (n % 3)) for n in range(1400)})
    names = [f"app-{stamp.strftime(STAMP)}" for stamp in stamps]
    script = (
        "set -e; mkdir /tmp/r; cd /tmp/r; for n in " + " ".join(names) + "; do : > $n.dump; : > $n.json; done; "
        ": > app-20270314T000000Z.dump; : > notes.txt; "  # a dump without manifest, a stranger
        "bash /db/backup.sh prune; ls -A"
    )
    result = run_backup_shell(
        compose, script, "-e", "BACKUP_DIR_IN_CONTAINER=/tmp/r", "-e", "BACKUP_KEEP_DAILY=7",
        "-e", "BACKUP_KEEP_WEEKLY=4", "-e", "BACKUP_KEEP_MONTHLY=6",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    left = set(result.stdout.split())
    kept = {
        datetime.strptime(name.split("-", 1)[1][:16], STAMP).replace(tzinfo=UTC)
        for name in left
        if name.endswith(".json")
    }
    assert kept == expected_retention(stamps, 7, 4, 6)
    assert all(f"app-{stamp.strftime(STAMP)}.dump" in left for stamp in kept)
    assert "notes.txt" in left and "app-20270314T000000Z.dump" not in left
    assert len(kept) <= 7 + 4 + 6 + 1


def test_the_schedule_takes_a_verified_backup_and_survives_a_failing_one(compose: Compose) -> None:
    wait_for_json = (
        "for i in $(seq 120); do ls /tmp/s/*.json >/dev/null 2>&1 && break; sleep 0.5; done; "
        "kill $pid; wait $pid; ls -A /tmp/s; cat /tmp/s/backup.prom"
    )
    good = run_backup_shell(
        compose, "mkdir /tmp/s; bash /db/backup.sh schedule & pid=$!; " + wait_for_json,
        "-e", "BACKUP_DIR_IN_CONTAINER=/tmp/s", "-e", "BACKUP_START_DELAY=0",
    )  # fmt: skip
    assert re.search(r"^app-\d{8}T\d{6}Z\.json$", good.stdout, re.M), good.stdout + good.stderr
    success = re.search(r"^djstack_backup_last_success_timestamp_seconds (\d+)$", good.stdout, re.M)
    assert success and abs(int(success.group(1)) - time.time()) < 300

    # A wrong password: the attempt fails, is logged as an error, and the loop goes on.
    bad = run_backup_shell(
        compose,
        "mkdir /tmp/s; bash /db/backup.sh schedule & pid=$!; "
        "for i in $(seq 60); do grep -q failure_timestamp_seconds.[1-9] /tmp/s/backup.prom 2>/dev/null && break; sleep 0.5; done; "
        "sleep 1; kill -0 $pid && echo still-running; kill $pid; cat /tmp/s/backup.prom",
        "-e", "BACKUP_DIR_IN_CONTAINER=/tmp/s", "-e", "BACKUP_START_DELAY=0", "-e", "DATABASE_OWNER_PASSWORD=wrong",
    )  # fmt: skip
    assert "still-running" in bad.stdout, bad.stdout + bad.stderr
    assert "backup: error: the scheduled backup failed" in bad.stderr
    assert re.search(r"^djstack_backup_last_failure_timestamp_seconds [1-9]\d*$", bad.stdout, re.M), bad.stdout
    assert re.search(r"^djstack_backup_last_success_timestamp_seconds 0$", bad.stdout, re.M)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a folder to another user")
def test_backups_are_written_as_the_owner_of_the_backup_folder(compose: Compose, backup_dir: Path) -> None:
    folder = backup_dir.resolve().parent / f"owned-{secrets.token_hex(3)}"
    folder.mkdir(mode=0o700)
    os.chown(folder, 4321, 4321)
    try:
        result = compose("run", "--rm", "--no-deps", "-T", "backup", "backup", env={"BACKUP_DIR": str(folder)})
        assert "verified" in result.stderr
        files = [path for path in folder.iterdir() if path.name.startswith("app-")]
        assert len(files) == 2
        assert {(path.stat().st_uid, path.stat().st_mode & 0o777) for path in files} == {(4321, 0o600)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
