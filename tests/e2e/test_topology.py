"""Only Nginx is reachable from outside, and the proxy passes the right facts to Django."""

import http.cookiejar
import json
import re
import secrets
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

import smoke
from stack import Compose


def test_nginx_is_the_only_service_with_a_published_port(compose: Compose) -> None:
    services = [json.loads(line) for line in compose("ps", "--format", "json").stdout.splitlines()]

    published = {s["Service"] for s in services for p in s.get("Publishers") or [] if p.get("PublishedPort")}

    assert published == {"nginx"}


def networks_of(compose: Compose, service: str) -> dict[str, bool]:
    """The networks of the service's container, each with whether it is internal (docker inspect)."""
    cid = compose("ps", "-q", service).stdout.strip()
    inspect = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True, check=True)
    names = json.loads(inspect.stdout)[0]["NetworkSettings"]["Networks"]
    details = subprocess.run(["docker", "network", "inspect", *names], capture_output=True, text=True, check=True)
    return {n["Name"]: n["Internal"] for n in json.loads(details.stdout)}


@pytest.mark.parametrize("service", ["web", "scheduler", "db"])
def test_the_app_tier_and_the_database_have_no_route_out(compose: Compose, service: str) -> None:
    """Outside review, item 11: web sat on an ordinary bridge, with a route to the internet and
    to the cloud metadata address. Read from Docker's own records, not by sending traffic out."""
    networks = networks_of(compose, service)

    assert networks and all(networks.values()), f"{service} is on a network with a route out: {networks}"


def test_only_nginx_is_on_a_network_with_a_route_out(compose: Compose) -> None:
    networks = networks_of(compose, "nginx")

    # edge for its published ports; front (internal) to web; monitoring (internal) for the exporter.
    assert sorted(networks.values()) == [False, True, True]


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
