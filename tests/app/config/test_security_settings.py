"""Throttling, CORS, request ids and JSON logs, in process."""

import json
import logging

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from core.logging import JsonFormatter, RequestIdFilter


@pytest.fixture
def tight_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three sign-in attempts a minute per address, counting from zero."""
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "3/min")
    cache.clear()


@pytest.mark.django_db
def test_sign_in_attempts_are_throttled_per_address_with_retry_after(
    api_client: APIClient, tight_throttle: None
) -> None:
    statuses = [
        api_client.post("/api/token/", {"username": "x", "password": "y"}, format="json").status_code for _ in range(4)
    ]
    other_address = api_client.post(
        "/api/token/", {"username": "x", "password": "y"}, format="json", REMOTE_ADDR="198.51.100.7"
    )
    limited = api_client.post("/api/token/", {"username": "x", "password": "y"}, format="json")

    assert statuses == [401, 401, 401, 429]
    assert other_address.status_code == 401
    assert limited.json()["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0


@pytest.mark.django_db
def test_the_throttle_counts_the_address_nginx_wrote_not_a_client_supplied_one(
    api_client: APIClient, tight_throttle: None
) -> None:
    """Nginx overwrites X-Forwarded-For with the peer address, so its last entry is the client."""
    for n in range(3):
        api_client.post(
            "/api/token/",
            {"username": "x", "password": "y"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 192.0.2.1",
        )

    response = api_client.post(
        "/api/token/", {"username": "x", "password": "y"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.99, 192.0.2.1"
    )

    assert response.status_code == 429


@pytest.mark.django_db
def test_admin_login_attempts_are_throttled_per_address_with_retry_after(
    api_client: APIClient, tight_throttle: None
) -> None:
    """Outside review, item 1: 100 wrong admin passwords from one client all got 200."""
    User.objects.create_superuser(username="root", password="the right one")
    wrong = {"username": "root", "password": "a guess"}

    statuses = [api_client.post("/admin/login/", wrong).status_code for _ in range(4)]
    other_address = api_client.post("/admin/login/", wrong, REMOTE_ADDR="198.51.100.7")
    limited = api_client.post("/admin/login/", {"username": "root", "password": "the right one"})

    assert statuses == [200, 200, 200, 429]  # 200: the form again, with its error
    assert other_address.status_code == 200
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0  # even the right password waits
    assert api_client.get("/admin/login/").status_code == 200  # the page itself still shows


@pytest.fixture
def tight_write_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three writes a minute per user, counting from zero."""
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "writes", "3/min")
    cache.clear()


@pytest.mark.django_db
def test_writes_are_throttled_per_user_and_reads_are_not(auth_client: APIClient, tight_write_throttle: None) -> None:
    """Outside review, items 4 and 10: profile probes and note floods at full API speed."""
    writes = [auth_client.post("/api/notes/", {"title": f"n{i}"}, format="json").status_code for i in range(3)]
    profile = auth_client.patch("/api/me/", {"first_name": "A"}, format="json")
    reads = {auth_client.get("/api/notes/").status_code for _ in range(5)}

    assert writes == [201, 201, 201]
    assert profile.status_code == 429 and profile.json()["code"] == "throttled"
    assert reads == {200}

    bob = User.objects.create_user(username="bob", password="x")
    other_user = APIClient()
    other_user.force_authenticate(bob)
    assert other_user.post("/api/notes/", {"title": "mine"}, format="json").status_code == 201


@pytest.mark.django_db
def test_the_sign_in_limit_holds_with_many_other_clients_active(
    api_client: APIClient,
    tight_throttle: None,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """Outside review, item 6: a full cache culled a third of its keys, the attacker's count with
    them (Django's default MAX_ENTRIES, 300: ~300 clients a minute). The limit must hold."""
    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "OPTIONS": {"MAX_ENTRIES": 300}}}
    for _ in range(3):
        api_client.post("/api/token/", {"username": "x", "password": "y"}, format="json")
    others = caches["default"]
    for n in range(400):  # what 400 other clients' attempts write: a count each, live for a minute
        others.set(f"throttle_auth_203.0.{n // 256}.{n % 256}", [0.0], 60)

    response = api_client.post("/api/token/", {"username": "x", "password": "y"}, format="json")

    assert response.status_code == 429


@pytest.mark.django_db
def test_me_is_not_throttled(auth_client: APIClient, tight_throttle: None) -> None:
    assert {auth_client.get("/api/me/").status_code for _ in range(5)} == {200}


@pytest.mark.django_db
def test_no_cors_headers_unless_the_origin_is_listed(api_client: APIClient, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    listed = api_client.get("/api/health/", HTTP_ORIGIN="https://app.example.com")
    unlisted = api_client.get("/api/health/", HTTP_ORIGIN="https://evil.example.com")

    assert listed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in unlisted


@pytest.mark.django_db
def test_the_request_id_from_nginx_is_returned_and_a_bad_one_replaced(api_client: APIClient) -> None:
    kept = api_client.get("/api/health/", HTTP_X_REQUEST_ID="0123456789abcdef0123456789abcdef")
    replaced = api_client.get("/api/health/", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert kept["X-Request-ID"] == "0123456789abcdef0123456789abcdef"
    assert replaced["X-Request-ID"].isalnum() and len(replaced["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_request_id_with_a_trailing_newline_is_replaced(api_client: APIClient) -> None:
    """Outside review, item 13: the check matched with "$", which allows one trailing newline."""
    response = api_client.get("/api/health/", HTTP_X_REQUEST_ID="0123456789abcdef\n")

    assert response["X-Request-ID"] != "0123456789abcdef\n"
    assert response["X-Request-ID"].isalnum() and len(response["X-Request-ID"]) == 32


def test_log_lines_are_json_with_the_request_id() -> None:
    record = logging.LogRecord("accounts.security", logging.WARNING, __file__, 1, 'login "failed"', None, None)
    RequestIdFilter().filter(record)

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == 'login "failed"'
    assert entry["level"] == "WARNING"
    assert "request_id" in entry


def test_a_failed_login_is_logged_with_the_client_address_and_no_password(
    api_client: APIClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="accounts.security"):
        api_client.post(
            "/api/token/",
            {"username": "alice", "password": "hunter2-secret"},
            format="json",
            HTTP_X_FORWARDED_FOR="198.51.100.23",
        )

    record = next(r for r in caplog.records if r.getMessage() == "login failed")
    assert (record.username, record.client) == ("alice", "198.51.100.23")  # type: ignore[attr-defined]
    assert "hunter2-secret" not in caplog.text
