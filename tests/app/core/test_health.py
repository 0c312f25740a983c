from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db.utils import OperationalError
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_health_is_200_when_the_database_answers(api_client: APIClient) -> None:
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": django_settings.APP_VERSION}


@pytest.mark.django_db
def test_health_is_503_when_the_database_does_not_answer(api_client: APIClient) -> None:
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=OperationalError("down")):
        response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


@pytest.mark.django_db
def test_health_needs_no_token_and_ignores_a_bad_one(api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    assert api_client.get("/api/health/").status_code == 200


@pytest.mark.django_db
def test_liveness_answers_without_touching_the_database(api_client: APIClient, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with (
        mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=OperationalError("down")),
        django_assert_num_queries(0),
    ):
        response = api_client.get("/api/health/live/", HTTP_AUTHORIZATION="Bearer garbage")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": django_settings.APP_VERSION}


@pytest.mark.django_db
def test_every_response_names_the_build_that_answered(api_client: APIClient, settings) -> None:  # type: ignore[no-untyped-def]
    settings.APP_VERSION = "abc123def456"

    health = api_client.get("/api/health/")
    missing = api_client.get("/api/no-such-thing/")

    assert health.json()["version"] == "abc123def456"
    assert health["X-App-Version"] == missing["X-App-Version"] == "abc123def456"
