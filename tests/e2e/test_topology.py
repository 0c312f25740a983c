"""Only Nginx is reachable from outside, and the proxy passes the right facts to Django."""

import http.cookiejar
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request

import smoke
from stack import Compose


def test_nginx_is_the_only_service_with_a_published_port(compose: Compose) -> None:
    services = [json.loads(line) for line in compose("ps", "--format", "json").stdout.splitlines()]

    published = {s["Service"] for s in services for p in s.get("Publishers") or [] if p.get("PublishedPort")}

    assert published == {"nginx"}


def test_nginx_cannot_reach_the_database_network(compose: Compose) -> None:
    result = compose("exec", "-T", "nginx", "getent", "hosts", "db", check=False)

    assert result.returncode != 0, f"nginx resolved db: {result.stdout}"


def test_a_client_cannot_spoof_its_address_with_x_forwarded_for(base_url: str, compose: Compose) -> None:
    agent = f"e2e-{secrets.token_hex(6)}"

    smoke.request(base_url, "GET", "/api/health/", headers={"X-Forwarded-For": "203.0.113.9", "User-Agent": agent})

    lines = [line for line in compose("logs", "web").stdout.splitlines() if agent in line]
    assert lines, "the request is missing from Gunicorn's access log"
    assert "203.0.113.9" not in lines[0]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_the_admin_login_works_through_the_proxy(base_url: str, compose: Compose) -> None:
    """Host (with its port) and CSRF survive the proxy: the classic 403 behind Nginx does not happen."""
    username, password = f"admin-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    compose(
        "exec",
        "-T",
        "-e",
        f"DJANGO_SUPERUSER_PASSWORD={password}",
        "web",
        "python",
        "manage.py",
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
    )
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), urllib.request.HTTPSHandler(context=smoke.tls_context()), NoRedirect
    )
    page = browser.open(f"{base_url}/admin/login/", timeout=10).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf, "no CSRF token in the login form"

    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf.group(1), "username": username, "password": password, "next": "/admin/"}
    ).encode()
    request = urllib.request.Request(f"{base_url}/admin/login/", data=form, headers={"Origin": base_url})
    try:
        browser.open(request, timeout=10)
        status, location = 200, ""
    except urllib.error.HTTPError as reply:
        status, location = reply.code, reply.headers.get("Location", "")

    assert (status, location) == (302, "/admin/")
