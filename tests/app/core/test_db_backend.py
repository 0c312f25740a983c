"""The database connection's health check: no round trip when the connection is fine, and a
connection the server closed is replaced before a request uses it."""

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import close_old_connections, connection, transaction
from django.test import Client

from core.db.postgresql.base import connection_is_idle_and_open


@pytest.fixture(autouse=True)
def fresh_connection_after() -> Iterator[None]:
    """Tests here end server sessions; the test database's teardown needs a live connection."""
    yield
    connection.close()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def terminate(pid: int) -> None:
    """End that server process from another session, as a database restart or failover would."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def wait_until_closed_by_server(raw: Any) -> None:
    deadline = time.monotonic() + 5
    while connection_is_idle_and_open(raw) and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_an_open_idle_connection_passes_without_a_query(monkeypatch: pytest.MonkeyPatch) -> None:
    connection.ensure_connection()

    def no_query(*args: object, **kwargs: object) -> None:
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(connection.connection, "cursor", no_query)

    assert connection.is_usable() is True


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_fails_the_check() -> None:
    terminate(backend_pid())
    wait_until_closed_by_server(connection.connection)

    assert connection.is_usable() is False


@pytest.mark.django_db(transaction=True)
def test_after_an_error_the_check_asks_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    connection.ensure_connection()
    asked = []
    real_cursor = connection.connection.cursor

    def counting_cursor(*args: Any, **kwargs: Any) -> Any:
        asked.append(True)
        return real_cursor(*args, **kwargs)

    monkeypatch.setattr(connection.connection, "cursor", counting_cursor)
    connection.errors_occurred = True

    assert connection.is_usable() is True
    assert asked, "after an error the check must run a real query"


def test_no_connection_or_a_closed_one_is_not_usable() -> None:
    class Closed:
        closed, broken = True, False

    assert connection_is_idle_and_open(None) is False
    assert connection_is_idle_and_open(Closed()) is False


@pytest.mark.django_db(transaction=True)
def test_a_connection_inside_a_transaction_is_not_taken_as_idle() -> None:
    with transaction.atomic():
        backend_pid()

        assert connection_is_idle_and_open(connection.connection) is False


@pytest.mark.django_db(transaction=True)
def test_the_next_request_after_the_server_closed_the_connection_gets_a_new_one() -> None:
    client = Client()
    assert client.get("/api/health/").status_code == 200  # the connection persists (CONN_MAX_AGE)
    old_pid = backend_pid()
    terminate(old_pid)
    wait_until_closed_by_server(connection.connection)
    close_old_connections()  # what each request starts with; Django's test client leaves it out

    response = client.get("/api/health/")

    assert (response.status_code, response.json()["database"]) == (200, "ok")
    assert backend_pid() != old_pid


def test_the_engine_and_tcp_keepalives() -> None:
    from django.conf import settings

    database = settings.DATABASES["default"]

    assert database["ENGINE"] == "core.db.postgresql"
    assert database["OPTIONS"]["keepalives"] == 1
    assert database["OPTIONS"]["keepalives_idle"] == 30
