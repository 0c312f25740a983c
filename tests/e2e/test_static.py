"""Static files come from Nginx's own copy, never from Gunicorn, with the right caching."""

import re
import secrets
import urllib.request

import smoke
from stack import Compose, nginx_logs_once_they_show


def hashed_admin_css(base_url: str) -> str:
    """Return the hashed URL of the admin's base.css, as the login page links it."""
    page = smoke.request(base_url, "GET", "/admin/login/").body.decode()
    match = re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css", page)
    assert match, "the admin login page links no hashed base.css"
    return match.group(0)


def test_hashed_files_are_cached_for_a_year_and_never_reach_gunicorn(base_url: str, compose: Compose) -> None:
    probe = f"probe-{secrets.token_hex(8)}"  # a User-Agent both Nginx and Gunicorn would log

    reply = smoke.request(base_url, "GET", hashed_admin_css(base_url), headers={"User-Agent": probe})

    assert reply.status == 200
    assert reply.headers["content-type"] == "text/css"
    assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert probe in nginx_logs_once_they_show(compose, probe)
    assert probe not in compose("logs", "web").stdout


def test_unhashed_names_get_a_short_cache(base_url: str) -> None:
    reply = smoke.request(base_url, "GET", "/static/admin/css/base.css")

    assert reply.status == 200
    assert reply.headers["cache-control"] == "public, max-age=3600"


def test_precompressed_copies_are_served_to_clients_that_accept_gzip(base_url: str) -> None:
    plain = smoke.request(base_url, "GET", hashed_admin_css(base_url))
    request = urllib.request.Request(base_url + hashed_admin_css(base_url), headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10, context=smoke.tls_context()) as gzipped:
        encoding, size = gzipped.headers["Content-Encoding"], len(gzipped.read())

    assert encoding == "gzip"
    assert size < len(plain.body)


def test_a_missing_static_file_is_a_404_from_nginx(base_url: str, compose: Compose) -> None:
    probe = secrets.token_hex(8)

    reply = smoke.request(base_url, "GET", f"/static/missing-{probe}.css")

    assert reply.status == 404
    assert probe not in compose("logs", "web").stdout
