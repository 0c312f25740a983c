"""Hostile input through Nginx: always a 4xx, never a 5xx, nothing internal in the body, no worker lost."""

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

import smoke
from stack import Compose

# Strings that would betray internals: a stack trace, a path, SQL, a setting name.
LEAKS = (
    "Traceback",
    'File "',
    "/app/",
    "/opt/venv",
    "site-packages",
    "SELECT ",
    "psycopg",
    "SECRET_KEY",
    "DATABASE_URL",
    "django.",
)


@pytest.fixture(scope="module", autouse=True)
def workers_survive(compose: Compose) -> Iterator[None]:
    """No hostile input in this module kills, hangs or crashes a Gunicorn worker, or web itself.

    Judged by what Gunicorn's master logs while the module runs (a worker timeout, a worker killed
    by a signal, the OOM killer's SIGKILL included, or exiting non-zero, an error handling a
    request) and by web's container (the same one, not restarted, not OOM-killed). Not by PIDs:
    a worker recycled on purpose by max_requests gets a new one, and `docker compose top` also
    lists health checks and exec'd processes.
    """
    container = web_container(compose)
    since = engine_time()
    yield
    assert web_container(compose) == container, "web's container was restarted or replaced"
    complaints = gunicorn_complaints(container["Id"], since)
    assert not complaints, "Gunicorn reported a worker in trouble:\n" + "\n".join(complaints)


def engine_time() -> str:
    """The Docker engine's clock (RFC 3339, nanoseconds): the one that stamps container logs."""
    return docker("info", "--format", "{{.SystemTime}}").strip()


def web_container(compose: Compose) -> dict[str, object]:
    """web's container: its id, start time, restart count and whether the OOM killer ended it."""
    container_id = compose("ps", "-q", "web").stdout.strip()
    fields = "{{json .Id}} {{json .State.StartedAt}} {{json .RestartCount}} {{json .State.OOMKilled}}"
    values = [json.loads(value) for value in docker("inspect", "--format", fields, container_id).split()]
    return dict(zip(("Id", "StartedAt", "RestartCount", "OOMKilled"), values, strict=True))


# What Gunicorn's master logs when a worker is lost (gunicorn/arbiter.py: murder_workers,
# reap_workers) and what a worker logs when a request escapes Django's handling. Not its
# "Invalid request" warnings: refusing a malformed request is what this module expects.
WORKER_TROUBLE = re.compile(
    r"WORKER TIMEOUT|Worker \(pid:\d+\) (was sent (?!SIGTERM)|exited with code)|Error handling request"
    r"|Worker failed to boot|App failed to load"
)


def gunicorn_complaints(container_id: str, since: str) -> list[str]:
    """Gunicorn's log lines about a lost worker or a failed request that web logged since `since`."""
    logs = subprocess.run(
        ["docker", "logs", "--since", since, container_id], capture_output=True, text=True, check=True, timeout=60
    )
    complaints = []
    for line in (logs.stdout + logs.stderr).splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # not one of Gunicorn's JSON lines
        if (
            isinstance(entry, dict)
            and entry.get("logger") == "gunicorn.error"
            and WORKER_TROUBLE.search(str(entry.get("message", "")))
        ):
            complaints.append(line)
    return complaints


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=60).stdout


def paced() -> None:
    """Stay under Nginx's sign-in rate limit (5/s), which the suite is not here to test."""
    time.sleep(0.25)


def assert_clean_4xx(reply: smoke.Reply, status: int | None = None) -> None:
    assert 400 <= reply.status < 500, (reply.status, reply.body[:300])
    if status is not None:
        assert reply.status == status, reply.body[:300]
    body = reply.body.decode(errors="replace")
    assert not [leak for leak in LEAKS if leak in body], body[:500]


def raw(base_url: str, path: str, body: bytes, content_type: str, **headers: str) -> smoke.Reply:
    return smoke.request(base_url, "POST", path, headers={"Content-Type": content_type, **headers}, data=body)


def token(base_url: str, body: bytes, content_type: str = "application/json") -> smoke.Reply:
    paced()
    return raw(base_url, "/api/token/", body, content_type)


def test_malformed_json(base_url: str) -> None:
    assert_clean_4xx(token(base_url, b'{"username": "a", "password":'), 400)


def test_json_nested_ten_thousand_deep(base_url: str) -> None:
    assert_clean_4xx(token(base_url, b"[" * 10_000 + b"]" * 10_000), 400)


@pytest.mark.parametrize("charset", ["zlib", "bz2", "base64", "rot13", "utf-7", "nonexistent"])
def test_json_declaring_an_odd_charset(base_url: str, charset: str) -> None:
    body = json.dumps({"username": "a", "password": "b"}).encode()

    assert_clean_4xx(token(base_url, body, f"application/json; charset={charset}"))


@pytest.mark.parametrize("body", [b'["username", "password"]', b'"just a string"', b"42", b"null"])
def test_json_that_is_not_an_object(base_url: str, body: bytes) -> None:
    assert_clean_4xx(token(base_url, body), 400)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"username=a&password=b"),
        ("application/xml", b"<credentials><username>a</username></credentials>"),
        ("application/x-www-form-urlencoded", b"username=a&password=b"),
    ],
)
def test_bodies_that_are_not_json_are_415(base_url: str, content_type: str, body: bytes) -> None:
    assert_clean_4xx(token(base_url, body, content_type), 415)


def test_an_accept_the_api_cannot_produce_is_406(base_url: str) -> None:
    assert_clean_4xx(smoke.request(base_url, "GET", "/api/health/", headers={"Accept": "application/xml"}), 406)


def test_a_body_over_the_limit_is_413(base_url: str) -> None:
    assert_clean_4xx(token(base_url, b'{"username": "' + b"a" * 2_000_000 + b'"}'), 413)


def test_a_9kb_uri(base_url: str) -> None:
    assert_clean_4xx(smoke.request(base_url, "GET", "/api/health/?" + "a" * 9 * 1024))


def test_a_9kb_header(base_url: str) -> None:
    assert_clean_4xx(smoke.request(base_url, "GET", "/api/health/", headers={"X-Big": "a" * 9 * 1024}))


def test_150_headers(base_url: str) -> None:
    reply = smoke.request(base_url, "GET", "/api/me/", headers={f"X-Filler-{n}": "x" for n in range(150)})

    assert_clean_4xx(reply)


def send_raw(base_url: str, request: bytes) -> bytes:
    """Send bytes over TLS exactly as given; return what comes back first."""
    port = int(base_url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        smoke.tls_context().wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        tls.sendall(request)
        return tls.recv(65536)


def test_content_length_together_with_chunked_transfer_encoding(base_url: str) -> None:
    body = b'{"username": "a", "password": "b"}'
    request = (
        b"POST /api/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )

    status = int(send_raw(base_url, request).split(b" ", 2)[1])

    assert 400 <= status < 500 or status == 401  # refused, or the chunked body alone was used


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param('{"username": "a\\u0000b", "password": "x"}', id="nul-byte"),
        pytest.param('{"username": "a", "password": "x\\u0000"}', id="nul-in-password"),
        pytest.param('{"username": "\\ud800", "password": "x"}', id="lone-surrogate"),
        pytest.param('{"username": "a", "password": "\\udfff"}', id="lone-surrogate-password"),
        pytest.param('{"username": 12345, "password": 67890}', id="numbers"),
        pytest.param('{"username": ["a"], "password": {"b": 1}}', id="containers"),
        pytest.param('{"username": "' + "a" * 900_000 + '", "password": "x"}', id="900KB-username"),
        pytest.param('{"username": "a", "password": "' + "p" * 900_000 + '"}', id="900KB-password"),
    ],
)
def test_hostile_credentials(base_url: str, credentials: str) -> None:
    assert_clean_4xx(token(base_url, credentials.encode()))


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/api/token/", "/api/token/refresh/", "/api/token/verify/"])
def test_unused_methods_on_token_endpoints_are_405_with_allow(base_url: str, path: str, method: str) -> None:
    paced()
    reply = smoke.request(base_url, method, path)

    assert_clean_4xx(reply, 405)
    assert "POST" in reply.headers["allow"]


def test_trace_is_refused(base_url: str) -> None:
    assert_clean_4xx(smoke.request(base_url, "TRACE", "/api/health/"))
