"""Least privilege in the database: the app serves requests as a role that can change rows and
nothing else; only the migrate job connects as the owner (outside review, item 12)."""

import json
import subprocess

from stack import Compose

RUNTIME_CHECK = """
from django.db import connection, transaction
from django.db.utils import ProgrammingError
for statement in ("DROP TABLE notes_note", "ALTER TABLE notes_note ADD COLUMN x int", "CREATE TABLE t (x int)",
                  "TRUNCATE notes_note"):
    try:
        with transaction.atomic():  # rolled back whatever happens: nothing is dropped if the check fails
            with connection.cursor() as cursor:
                cursor.execute(statement)
            raise RuntimeError("ALLOWED " + statement)
    except ProgrammingError as exc:
        print("REFUSED", statement, "|", str(exc).splitlines()[0])
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user, count(*) FROM notes_note")
    print("ROWS", *cursor.fetchone())
"""


def test_the_runtime_role_may_not_drop_alter_create_or_truncate(compose: Compose) -> None:
    result = compose("exec", "-T", "web", "python", "manage.py", "shell", "-c", RUNTIME_CHECK, check=False)

    assert "ALLOWED" not in result.stdout + result.stderr, result.stderr
    refused = [line for line in result.stdout.splitlines() if line.startswith("REFUSED")]
    assert len(refused) == 4, result.stdout + result.stderr
    assert all("permission denied" in line or "must be owner" in line for line in refused), refused
    assert "ROWS app " in result.stdout  # it does read rows, as DATABASE_USER


def psql(compose: Compose, sql: str) -> str:
    script = f'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -At -c "{sql}"'
    return compose("exec", "-T", "db", "sh", "-c", script).stdout.strip()


def test_every_table_belongs_to_the_owner_role_and_the_runtime_role_owns_nothing(compose: Compose) -> None:
    owners = set(psql(compose, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").split())
    database_owner = psql(compose, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")

    assert owners == {"app_owner"}  # createcachetable's table too
    assert database_owner == "app_owner"
    assert psql(compose, "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'app'") == "f"


def test_the_db_container_does_not_hold_the_apps_passwords(compose: Compose) -> None:
    cid = compose("ps", "-q", "db").stdout.strip()
    env = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True, check=True).stdout)[0][
        "Config"
    ]["Env"]

    assert not [entry for entry in env if entry.startswith(("DATABASE_PASSWORD=", "DATABASE_OWNER_PASSWORD="))]
