import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.serializers import MeSerializer


def test_me_returns_the_token_owner(api_client: APIClient, user: User, tokens: dict[str, str]) -> None:
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.get("/api/me/")

    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert "password" not in response.json()


def test_me_answers_each_user_with_their_own_row_as_the_serializer_shows_it(
    api_client: APIClient, user: User, password: str
) -> None:
    bob = User.objects.create_user(username="bob", email="bob@example.com", password=password, first_name="Bob")
    bodies = {}
    for someone in (user, bob, user):
        access = api_client.post("/api/token/", {"username": someone.username, "password": password}, format="json")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access.json()['access']}")
        bodies.setdefault(someone.username, []).append(api_client.get("/api/me/").json())

    assert bodies["alice"] == [MeSerializer(user).data] * 2
    assert bodies["bob"] == [MeSerializer(bob).data]


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
