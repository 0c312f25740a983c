from rest_framework.test import APIClient

from accounts.models import User


def test_obtain_returns_an_access_and_a_refresh_token(api_client: APIClient, user: User, password: str) -> None:
    response = api_client.post("/api/token/", {"username": "alice", "password": password}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_wrong_password_is_refused_with_401(api_client: APIClient, user: User) -> None:
    response = api_client.post("/api/token/", {"username": "alice", "password": "nope"}, format="json")

    assert response.status_code == 401


def test_unknown_user_is_refused_like_a_wrong_password(api_client: APIClient, user: User) -> None:
    unknown = api_client.post("/api/token/", {"username": "nobody", "password": "nope"}, format="json")
    wrong = api_client.post("/api/token/", {"username": "alice", "password": "nope"}, format="json")

    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())


def test_inactive_user_gets_no_token(api_client: APIClient, user: User, password: str) -> None:
    user.is_active = False
    user.save()

    response = api_client.post("/api/token/", {"username": "alice", "password": password}, format="json")

    assert response.status_code == 401


def test_refresh_returns_a_working_access_token(api_client: APIClient, tokens: dict[str, str]) -> None:
    response = api_client.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")

    assert response.status_code == 200
    assert api_client.get("/api/me/").status_code == 200


def test_an_access_token_cannot_be_used_to_refresh(api_client: APIClient, tokens: dict[str, str]) -> None:
    response = api_client.post("/api/token/refresh/", {"refresh": tokens["access"]}, format="json")

    assert response.status_code == 401


def test_verify_accepts_a_valid_token_and_refuses_a_forged_one(api_client: APIClient, tokens: dict[str, str]) -> None:
    header, payload, signature = tokens["access"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"

    assert api_client.post("/api/token/verify/", {"token": tokens["access"]}, format="json").status_code == 200
    assert api_client.post("/api/token/verify/", {"token": forged}, format="json").status_code == 401
