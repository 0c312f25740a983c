"""Error reporting (core/sentry.py), against a local fake Sentry endpoint that receives what the
SDK really sends: an unhandled error arrives with its request id, and nothing secret does."""

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock

import pytest
import sentry_sdk
from rest_framework.test import APIClient

from core.sentry import init_sentry

SECRET_TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token-value.sig"


class FakeSentry(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        FakeSentry.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_sentry() -> Iterator[str]:
    FakeSentry.received = []
    server = HTTPServer(("127.0.0.1", 0), FakeSentry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    init_sentry(f"http://publickey@127.0.0.1:{server.server_port}/1", environment="test", release="v-test")
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        sentry_sdk.init()  # no DSN: off again
        server.shutdown()


def events() -> list[dict]:
    sentry_sdk.flush(timeout=5)
    found = []
    for envelope in FakeSentry.received:
        for line in envelope.splitlines():
            item = json.loads(line)
            if isinstance(item, dict) and "exception" in item:
                found.append(item)
    return found


@pytest.mark.django_db
def test_an_unhandled_error_is_reported_with_its_request_id_and_nothing_secret(
    api_client: APIClient, fake_sentry: str
) -> None:
    # The query string is one the health check does not take (a 400 since the API validates
    # queries: core/query.py): let it through, to see that a 500's query stays out of the event.
    with (
        mock.patch("core.views.database_is_available", side_effect=RuntimeError("boom")),
        mock.patch("core.query.validate_query", return_value={}),
    ):
        response = api_client.get(
            "/api/health/?token=query-secret",
            HTTP_AUTHORIZATION=f"Bearer {SECRET_TOKEN}",
            HTTP_COOKIE="sessionid=cookie-secret",
            HTTP_X_REQUEST_ID="req-0123456789abcdef",
        )

    assert response.status_code == 500
    reported = events()
    assert len(reported) == 1, FakeSentry.received
    event = reported[0]
    assert event["tags"]["request_id"] == "req-0123456789abcdef"
    assert event["release"] == "v-test" and event["environment"] == "test"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    raw = b"".join(FakeSentry.received)
    for secret in (SECRET_TOKEN.encode(), b"query-secret", b"cookie-secret"):
        assert secret not in raw
    assert "user" not in event


def test_without_a_dsn_nothing_is_sent(settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.SENTRY_DSN == ""
    assert not sentry_sdk.get_client().dsn
