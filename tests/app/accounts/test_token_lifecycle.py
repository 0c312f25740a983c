"""Refresh rotation, logout and revocation: a refresh token is spent once, then refused."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User


def refresh(client: APIClient, token: str):  # type: ignore[no-untyped-def]
    return client.post("/api/token/refresh/", {"refresh": token}, format="json")


def test_refresh_rotates_the_refresh_token(api_client: APIClient, tokens: dict[str, str]) -> None:
    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    assert response.json()["refresh"] != tokens["refresh"]


def test_refresh_token_cannot_be_used_twice(api_client: APIClient, tokens: dict[str, str]) -> None:
    refresh(api_client, tokens["refresh"])

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_the_rotated_refresh_token_works_once_in_turn(api_client: APIClient, tokens: dict[str, str]) -> None:
    second = refresh(api_client, tokens["refresh"]).json()["refresh"]

    assert refresh(api_client, second).status_code == 200
    assert refresh(api_client, second).status_code == 401


def test_logout_blacklists_the_refresh_token(api_client: APIClient, tokens: dict[str, str]) -> None:
    logout = api_client.post("/api/token/blacklist/", {"refresh": tokens["refresh"]}, format="json")

    assert logout.status_code == 200
    assert refresh(api_client, tokens["refresh"]).status_code == 401


def test_refresh_for_a_deleted_user_is_401_not_500(api_client: APIClient, user: User, tokens: dict[str, str]) -> None:
    user.delete()

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_refresh_for_a_deactivated_user_is_401(api_client: APIClient, user: User, tokens: dict[str, str]) -> None:
    user.is_active = False
    user.save()

    assert refresh(api_client, tokens["refresh"]).status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/token/", {"username": "alice", "password": "correct horse battery staple"}),
        ("/api/token/refresh/", None),
        ("/api/token/verify/", None),
    ],
)
def test_token_responses_are_never_cached(
    api_client: APIClient, tokens: dict[str, str], path: str, body: dict[str, str] | None
) -> None:
    body = body or ({"refresh": tokens["refresh"]} if "refresh" in path else {"token": tokens["access"]})

    response = api_client.post(path, body, format="json")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_flushing_deletes_expired_tokens_and_keeps_live_ones(user: User, tokens: dict[str, str]) -> None:
    past = timezone.now() - timedelta(days=2)
    expired = OutstandingToken.objects.create(user=user, jti="expired", token="x", expires_at=past)
    BlacklistedToken.objects.create(token=expired)

    call_command("run_scheduler", "--once")

    assert not OutstandingToken.objects.filter(jti="expired").exists()
    assert not BlacklistedToken.objects.filter(token_id=expired.pk).exists()
    assert OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).count() == 1


def test_a_password_set_outside_the_api_revokes_every_refresh_token(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    user.set_password("reset by an administrator")  # as the admin, `changepassword` and `ensure_user` do
    user.save()

    response = api_client.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 401


def test_the_rehash_at_sign_in_keeps_other_sessions_refresh_tokens(
    api_client: APIClient,
    user: User,
    tokens: dict[str, str],
    password: str,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.PASSWORD_HASHERS = [settings.PASSWORD_HASHERS[1], settings.PASSWORD_HASHERS[0]]  # PBKDF2 preferred now
    signed_in = APIClient().post("/api/token/", {"username": "alice", "password": password}, format="json")
    user.refresh_from_db()
    assert signed_in.status_code == 200 and user.password.startswith("pbkdf2_sha256$")  # re-hashed at sign-in

    response = api_client.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 200
