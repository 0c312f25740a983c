"""Production safety, checked from outside: TLS, redirects, headers, hosts, limits, containers, secrets, logs."""

import http.client
import json
import re
import secrets
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import smoke
from stack import Compose, login, nginx_logs_once_they_show

SECURITY_HEADERS = {
    "strict-transport-security": re.compile(r"^max-age=\d+; includeSubDomains$"),
    "x-content-type-options": re.compile(r"^nosniff$"),
    "x-frame-options": re.compile(r"^DENY$"),
    "referrer-policy": re.compile(r"^same-origin$"),
    "content-security-policy": re.compile(r"frame-ancestors 'none'"),
}


def tls_handshake(base_url: str, version: ssl.TLSVersion, ciphers: str | None = None) -> str:
    """Return the negotiated protocol, or raise ssl.SSLError when the server refuses."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    port = int(base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return str(tls.version())


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_1_2_and_1_3_are_offered(base_url: str, version: ssl.TLSVersion) -> None:
    assert tls_handshake(base_url, version) == version.name.replace("_", ".")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")  # offered on purpose
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_1_0_and_1_1_are_refused(base_url: str, version: ssl.TLSVersion) -> None:
    with pytest.raises(ssl.SSLError):
        tls_handshake(base_url, version, ciphers="ALL:@SECLEVEL=0")


def test_cbc_and_sha1_cipher_suites_are_refused(base_url: str) -> None:
    with pytest.raises(ssl.SSLError):
        tls_handshake(base_url, ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA")


def test_plain_http_redirects_to_https(http_url: str, base_url: str) -> None:
    reply = smoke.request(http_url, "GET", "/api/me/?x=1")

    assert reply.status == 308
    assert reply.headers["location"] == f"{base_url}/api/me/?x=1"


def test_a_spoofed_forwarded_proto_over_plain_http_is_still_redirected(http_url: str) -> None:
    reply = smoke.request(http_url, "GET", "/api/health/", headers={"X-Forwarded-Proto": "https"})

    assert reply.status == 308


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-Ssl": "off"},
        {"X-Forwarded-Protocol": "http"},
        {"Forwarded": "for=198.51.100.1;proto=http"},
        {"X-Real-IP": "198.51.100.1"},
        {"X-Forwarded-Host": "evil.example.com"},
    ],
    ids=lambda header: next(iter(header)),
)
def test_client_sent_forwarding_headers_never_reach_gunicorn(base_url: str, header: dict[str, str]) -> None:
    """Outside review, item 13. Gunicorn trusts X-Forwarded-Ssl and X-Forwarded-Protocol as well as
    the X-Forwarded-Proto Nginx writes: passed through, a conflicting one made it refuse the
    request (400, ambiguous scheme headers), and an agreeing one could decide the scheme."""
    reply = smoke.request(base_url, "GET", "/api/health/", headers=header)

    assert reply.status == 200, reply.body


def test_nginx_overwrites_forwarded_proto(base_url: str) -> None:
    """A client claiming plain HTTP over HTTPS would loop through Django's redirect if passed through."""
    assert smoke.request(base_url, "GET", "/api/health/", headers={"X-Forwarded-Proto": "http"}).status == 200


def test_the_load_balancer_health_path_stays_on_plain_http(http_url: str) -> None:
    assert smoke.request(http_url, "GET", "/nginx-health").status == 200


@pytest.mark.parametrize(
    "path", ["/api/health/", "/api/me/", "/api/no-such-thing/", "/static/admin/css/base.css", "/static/nope.css"]
)
def test_security_headers_on_every_kind_of_response(base_url: str, path: str) -> None:
    reply = smoke.request(base_url, "GET", path)

    for name, pattern in SECURITY_HEADERS.items():
        assert pattern.search(reply.headers.get(name, "")), f"{name} on {path}: {reply.headers.get(name)!r}"
    assert reply.headers["server"] == "nginx"
    assert "x-powered-by" not in reply.headers


def test_json_responses_get_the_strictest_policy_and_the_admin_its_own(base_url: str) -> None:
    api = smoke.request(base_url, "GET", "/api/health/").headers["content-security-policy"]
    admin = smoke.request(base_url, "GET", "/admin/login/", headers={"Accept": "text/html"})

    assert api.startswith("default-src 'none'")
    assert admin.headers["content-security-policy"].startswith("default-src 'self'")


def test_no_cors_headers_for_an_origin_that_is_not_listed(base_url: str) -> None:
    reply = smoke.request(base_url, "GET", "/api/health/", headers={"Origin": "https://evil.example.com"})

    assert "access-control-allow-origin" not in reply.headers


def test_a_request_for_an_unknown_host_is_dropped_before_django(base_url: str, compose: Compose) -> None:
    probe = f"probe-{secrets.token_hex(6)}"

    with pytest.raises((http.client.HTTPException, urllib.error.URLError, ConnectionError)):
        smoke.request(base_url, "GET", "/api/health/", headers={"Host": "evil.example.com", "User-Agent": probe})

    assert probe not in compose("logs", "web").stdout


@pytest.mark.parametrize(
    "path",
    [
        "/.env",
        "/.git/config",
        "/static/.env",
        "/api/.env",
        "/static/../.env",
        "/static/..%2f..%2fetc/passwd",
        "/static/admin/",
        "/static/",
    ],
)
def test_dotfiles_traversal_and_directory_listings_are_refused(base_url: str, path: str) -> None:
    reply = smoke.request(base_url, "GET", path)

    assert reply.status in {400, 403, 404}
    assert b"root:" not in reply.body and b"SECRET_KEY" not in reply.body


def test_sign_in_floods_are_rate_limited_per_client_whatever_x_forwarded_for_says(
    base_url: str, compose: Compose
) -> None:
    # Empty credentials: refused without a password hash, so the flood outruns the limit even on a
    # slow machine (real sign-ins are slower than 5/s on 2 cores and would measure the CPU instead).
    def sign_in(n: int) -> smoke.Reply:
        return smoke.request(
            base_url, "POST", "/api/token/", json_body={}, headers={"X-Forwarded-For": f"203.0.113.{n}"}
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(sign_in, range(60)))
    time.sleep(5)  # let the bucket refill for the tests that follow

    limited = [r for r in replies if r.status == 429]
    assert limited, "60 concurrent sign-ins were never rate limited"
    assert limited[0].json()["code"] == "throttled"
    assert limited[0].headers["retry-after"] == "1"
    # Each refusal is one access-log line (status 429), not a second one in the error log.
    assert "limiting requests" not in compose("logs", "nginx").stdout


def test_a_sign_in_flood_from_a_few_connections_is_slowed_to_the_rate_not_refused(base_url: str) -> None:
    """Nginx holds the requests beyond the first NGINX_AUTH_DELAY (10) to 5/s: no 429s to churn out."""
    time.sleep(4)  # a full bucket: the tests before may have spent it
    started, deadline = time.monotonic(), time.monotonic() + 4

    def keep_signing_in(_: int) -> list[int]:
        statuses = []
        while time.monotonic() < deadline:
            statuses.append(smoke.request(base_url, "POST", "/api/token/", json_body={}).status)
        return statuses

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [status for per_connection in pool.map(keep_signing_in, range(4)) for status in per_connection]
    elapsed = time.monotonic() - started
    time.sleep(5)  # let the bucket refill for the tests that follow

    assert 429 not in statuses
    assert set(statuses) == {400}  # empty credentials, answered by Django
    # 10 at once, then 5/s (+ a little for timing); unlimited, 4 threads would send hundreds.
    assert len(statuses) <= 10 + 5 * elapsed + 5, f"{len(statuses)} sign-ins in {elapsed:.1f} s"


def test_admin_login_floods_are_rate_limited_per_client(base_url: str) -> None:
    """Outside review, item 1: the admin's login page was outside Nginx's sign-in zone. Posts
    without a CSRF token are refused by Django without a password hash, so the flood outruns
    the limit on any machine."""
    time.sleep(4)  # a full bucket: the tests before may have spent it

    def guess(_: int) -> smoke.Reply:
        return smoke.request(base_url, "POST", "/admin/login/", json_body={"username": "root", "password": "guess"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(guess, range(60)))
    time.sleep(5)  # let the bucket refill for the tests that follow

    statuses = {r.status for r in replies}
    assert 429 in statuses, f"60 concurrent admin sign-ins were never rate limited: {statuses}"
    assert statuses <= {403, 429}  # 403: Django's CSRF refusal, for those let through


def test_the_admin_is_open_to_any_address_by_default(base_url: str) -> None:
    assert smoke.request(base_url, "GET", "/admin/login/").status == 200


def test_a_body_over_the_limit_is_a_json_413(base_url: str) -> None:
    reply = smoke.request(base_url, "POST", "/api/token/", json_body={"username": "x" * 1_100_000, "password": "x"})

    assert reply.status == 413
    assert reply.json()["code"] == "request_too_large"


def container(compose: Compose, service: str) -> dict:  # type: ignore[type-arg]
    cid = compose("ps", "-q", service).stdout.strip()
    return json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout)[0]


@pytest.mark.parametrize("service", ["web", "nginx", "scheduler", "db"])
def test_containers_are_locked_down(compose: Compose, service: str) -> None:
    """db too (outside review, item 13: docker-bench-security's CIS 5 checks flagged it)."""
    host = container(compose, service)["HostConfig"]

    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["Memory"] > 0 and host["PidsLimit"] > 0


def test_the_scheduler_has_a_cpu_limit(compose: Compose) -> None:
    assert container(compose, "scheduler")["HostConfig"]["NanoCpus"] == 500_000_000


def test_web_runs_as_an_unprivileged_user(compose: Compose) -> None:
    assert compose("exec", "-T", "web", "id", "-u").stdout.strip() not in {"", "0"}


def test_the_apps_database_role_is_not_a_superuser(compose: Compose) -> None:
    code = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "c.execute('select current_user, rolsuper, rolcreaterole from pg_roles where rolname = current_user'); "
        "print(*c.fetchone())"
    )

    assert compose("exec", "-T", "web", "python", "-c", code).stdout.split() == ["app", "False", "False"]


def test_secrets_can_come_from_files(compose: Compose) -> None:
    with tempfile.TemporaryDirectory() as folder:
        secret = Path(folder) / "secret_key"
        secret.write_text(secrets.token_urlsafe(50) + "\n")
        secret.chmod(0o644)
        result = compose(
            "run",
            "--rm",
            "--no-deps",
            "-e",
            "SECRET_KEY=",
            "-e",
            "SECRET_KEY_FILE=/run/secrets/secret_key",
            "-v",
            f"{secret}:/run/secrets/secret_key:ro",
            "web",
            "python",
            "manage.py",
            "check",
            check=False,
        )

    assert result.returncode == 0, result.stderr


def test_no_secret_is_baked_into_an_image(env_file: str, compose: Compose) -> None:
    values = dict(
        re.findall(
            r"^(SECRET_KEY|JWT_SIGNING_KEY|POSTGRES_PASSWORD|DATABASE_PASSWORD)=(.+)$", Path(env_file).read_text(), re.M
        )
    )
    image = container(compose, "web")["Config"]["Image"]
    history = subprocess.run(["docker", "history", "--no-trunc", image], capture_output=True, text=True).stdout
    config = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True).stdout

    assert values and not any(value in history or value in config for value in values.values())


def test_logs_are_json_carry_the_request_id_and_never_a_password_or_token(
    base_url: str, compose: Compose, e2e_user: tuple[str, str]
) -> None:
    username, password = e2e_user
    access = login(base_url, username, password).json()["access"]
    reply = smoke.request(base_url, "GET", f"/api/me/?token={access}", headers=smoke.bearer(access))
    failed_sign_in = smoke.request(
        base_url,
        "POST",
        "/api/token/",
        json_body={"username": username, "password": "wrong"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )

    # Nginx's lines arrive in blocks: wait for the last request's, so all of them are read.
    nginx_logs = nginx_logs_once_they_show(compose, failed_sign_in.headers["x-request-id"])
    web_logs = compose("logs", "--no-log-prefix", "web").stdout
    everything = web_logs + nginx_logs
    entries = [json.loads(line) for line in web_logs.splitlines() if line.startswith("{")]

    assert failed_sign_in.headers["x-request-id"] in nginx_logs
    assert password not in everything and access not in everything
    assert any(e.get("request_id") == reply.headers["x-request-id"] for e in entries)
    failed = [e for e in entries if e.get("message") == "login failed" and e.get("username") == username]
    assert failed and failed[-1]["client"] not in {"", "-", "203.0.113.9"}


def test_check_deploy_passes_at_warning_level_in_the_web_container(compose: Compose) -> None:
    result = compose(
        "exec", "-T", "web", "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING", check=False
    )

    assert result.returncode == 0, result.stderr + result.stdout


def test_a_client_that_never_finishes_its_headers_is_cut_off(base_url: str) -> None:
    """Slowloris: Nginx closes a connection whose headers do not arrive within 10 s."""
    port = int(base_url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as sock,
        smoke.tls_context().wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        started = time.monotonic()
        try:
            leftover = tls.recv(1024)
        except (ConnectionError, ssl.SSLError):
            leftover = b""
        waited = time.monotonic() - started

    assert not leftover.startswith(b"HTTP/1.1 200")
    assert 8 < waited < 20
