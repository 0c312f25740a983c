"""One error contract: every error under /api/ is JSON with a code and a message, whatever produced it."""

from unittest import mock

import pytest
from django.test import override_settings
from rest_framework.test import APIClient


def assert_error_shape(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_path_is_a_json_404_even_with_debug_on(api_client: APIClient, debug: bool) -> None:
    with override_settings(DEBUG=debug):
        response = api_client.get("/api/no-such-thing/")

    assert_error_shape(response, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/notes/999999/", id="a-lookup-that-finds-nothing"),
        pytest.param("/api/notes/abc/", id="an-id-that-is-not-a-number"),
        pytest.param("/api/notes/?page=999", id="a-page-past-the-end"),
    ],
)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_every_404_of_a_resource_is_in_the_api_shape(auth_client: APIClient, path: str, method: str) -> None:
    if method != "get" and "?" in path:
        pytest.skip("the list takes no PATCH or DELETE")
    data = None if method == "get" else {"title": "x"}  # data given to get() replaces the query string
    response = getattr(auth_client, method)(path, data, format="json")

    assert_error_shape(response, 404, "not_found")
    assert set(response.json()) == {"code", "message"}
    assert "Note" not in response.json()["message"]  # no model name handed to the client


def test_a_django_permission_denied_in_a_view_is_in_the_api_shape(auth_client: APIClient) -> None:
    from django.core.exceptions import PermissionDenied

    with mock.patch("notes.views.note_list", side_effect=PermissionDenied("internal reason")):
        response = auth_client.get("/api/notes/")

    assert_error_shape(response, 403, "permission_denied")
    assert "internal reason" not in response.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_an_uncaught_exception_is_a_json_500_without_a_trace(api_client: APIClient, debug: bool) -> None:
    with (
        override_settings(DEBUG=debug),
        mock.patch("core.views.database_is_available", side_effect=RuntimeError("boom /secret/path")),
    ):
        response = api_client.get("/api/health/")

    assert_error_shape(response, 500, "server_error")
    assert b"boom" not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize("error", ["OperationalError", "InterfaceError"])
def test_a_database_outage_is_a_json_503_with_retry_after(auth_client: APIClient, error: str) -> None:
    from django import db

    with mock.patch("notes.views.note_list", side_effect=getattr(db, error)("connection refused")):
        response = auth_client.get("/api/notes/")

    assert_error_shape(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert b"refused" not in response.content


@pytest.mark.django_db
def test_validation_errors_list_each_field(api_client: APIClient) -> None:
    response = api_client.post("/api/auth/register/", {"username": ""}, format="json")

    assert_error_shape(response, 400, "invalid")
    assert set(response.json()["fields"]) == {"username", "email", "password"}


@pytest.mark.django_db
def test_a_401_carries_a_bearer_challenge_and_the_shape(api_client: APIClient) -> None:
    response = api_client.get("/api/me/")

    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_an_unused_method_is_a_405_with_allow(api_client: APIClient) -> None:
    response = api_client.get("/api/token/")

    assert_error_shape(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


@pytest.mark.django_db
def test_malformed_json_is_a_400(api_client: APIClient) -> None:
    response = api_client.post("/api/token/", "{not json", content_type="application/json")

    assert_error_shape(response, 400, "parse_error")


@pytest.mark.django_db
def test_json_nested_ten_thousand_deep_is_a_400_not_a_500(api_client: APIClient) -> None:
    response = api_client.post("/api/token/", "[" * 10_000 + "]" * 10_000, content_type="application/json")

    assert_error_shape(response, 400, "parse_error")


@pytest.mark.django_db
def test_a_bad_host_under_api_is_a_json_400(api_client: APIClient) -> None:
    response = api_client.get("/api/health/", HTTP_HOST="evil.example.com")

    assert_error_shape(response, 400, "bad_request")


@pytest.mark.django_db
def test_errors_outside_the_api_stay_html(api_client: APIClient) -> None:
    response = api_client.get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
