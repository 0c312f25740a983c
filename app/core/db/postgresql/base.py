"""Django's PostgreSQL backend, with a health check that asks the socket instead of the server.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before a persistent connection's first query of
each request: a round trip to PostgreSQL on every request, ~15 % of GET /api/me/ (make bench). An
idle connection receives nothing unless the server is closing it (restart, failover,
pg_terminate_backend, idle timeout): it then writes a FATAL message and closes the socket, which
becomes readable. So a connection that is idle and has nothing to read is as good as one that
answered `SELECT 1`, and one that has something to read is replaced. A server that vanished
without a word is caught by TCP keepalives (settings.py), which turn the silence into an error
on the socket. After an error in a request Django asks again, and then the real `SELECT 1` runs.
"""

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class SocketHealthCheck:
    """Mixed into a PostgreSQL-based backend (this one, core/db/postgis) before Django's wrapper."""

    errors_occurred: bool
    connection: Any

    def is_usable(self) -> bool:
        if self.errors_occurred or not hasattr(select, "poll"):
            return bool(super().is_usable())  # type: ignore[misc]
        return connection_is_idle_and_open(self.connection)


class DatabaseWrapper(SocketHealthCheck, base.DatabaseWrapper):
    pass


def connection_is_idle_and_open(connection: Any) -> bool:
    """True when this psycopg connection is open, idle, and nothing waits on its socket."""
    if connection is None or connection.closed or connection.broken:
        return False
    pgconn = connection.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    try:
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)  # data, end of file or a socket error: the server is closing it
    except (OSError, ValueError, psycopg.Error):
        return False
