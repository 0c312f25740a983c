import pytest
from rest_framework.test import APIClient

from accounts.models import User


def test_me_returns_the_token_owner(api_client: APIClient, user: User, tokens: dict[str, str]) -> None:
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.get("/api/me/")

    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert "password" not in response.json()


@pytest.mark.django_db
def test_me_without_a_token_is_401_with_a_bearer_challenge(api_client: APIClient) -> None:
    response = api_client.get("/api/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_me_with_a_garbage_token_is_401(api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")

    assert api_client.get("/api/me/").status_code == 401


def test_me_refuses_a_user_deactivated_after_the_token_was_issued(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    user.is_active = False
    user.save()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert api_client.get("/api/me/").status_code == 401


def test_me_refuses_a_refresh_token(api_client: APIClient, tokens: dict[str, str]) -> None:
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")

    assert api_client.get("/api/me/").status_code == 401
