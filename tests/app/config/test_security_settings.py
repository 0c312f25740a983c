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
