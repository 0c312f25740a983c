"""Each worker verifies a token's signature once; expiry, the user and the password are still
checked on every request."""

import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken

from accounts import authentication
from accounts.authentication import VerifiedTokens
from accounts.models import User
from accounts.tokens import SessionRefreshToken


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> VerifiedTokens:
    cache = VerifiedTokens(size=4)
    monkeypatch.setattr(authentication, "verified_tokens", cache)
    return cache


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token SimpleJWT decodes (and so checks the signature of)."""
    seen: list[str] = []
    real = TokenBackend.decode

    def counting(self: TokenBackend, token: Any, verify: bool = True) -> dict[str, Any]:
        seen.append(token)
        return real(self, token, verify)

    monkeypatch.setattr(TokenBackend, "decode", counting)
    return seen


def me(client: APIClient, token: str) -> Any:
    return client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_token_is_verified_once_then_recognised(
    api_client: APIClient, tokens: dict[str, str], decodes: list[str]
) -> None:
    statuses = [me(api_client, tokens["access"]).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert len(decodes) == 1


def test_a_known_token_is_refused_once_it_expires(api_client: APIClient, user: User) -> None:
    short_lived = SessionRefreshToken.for_user(user).access_token
    short_lived.set_exp(lifetime=timedelta(seconds=2))
    token = str(short_lived)
    assert me(api_client, token).status_code == 200
    time.sleep(2.1)

    response = me(api_client, token)

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_a_known_token_of_a_deactivated_user_is_refused(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    assert me(api_client, tokens["access"]).status_code == 200
    user.is_active = False
    user.save()

    response = me(api_client, tokens["access"])

    assert (response.status_code, response.json()["code"]) == (401, "user_inactive")


def test_a_known_token_is_refused_after_a_password_change(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    assert me(api_client, tokens["access"]).status_code == 200
    user.set_password("another correct horse battery")
    user.save()

    response = me(api_client, tokens["access"])

    assert (response.status_code, response.json()["code"]) == (401, "password_changed")


def test_a_refused_token_is_not_kept(
    api_client: APIClient, user: User, empty_cache: VerifiedTokens, decodes: list[str]
) -> None:
    payload = SessionRefreshToken.for_user(user).access_token.payload
    forged = jwt.encode(payload, "another key that is long enough for HS256", algorithm="HS256")

    assert [me(api_client, forged).status_code for _ in range(2)] == [401, 401]
    assert empty_cache.tokens == {}
    assert len(decodes) == 2


def test_tampering_with_a_known_token_is_caught(api_client: APIClient, tokens: dict[str, str]) -> None:
    assert me(api_client, tokens["access"]).status_code == 200
    header, payload, signature = tokens["access"].split(".")

    flipped = signature[:5] + ("B" if signature[5] == "A" else "A") + signature[6:]

    response = me(api_client, f"{header}.{payload}.{flipped}")

    assert response.status_code == 401


def test_the_cache_keeps_at_most_its_size_the_newest(user: User, empty_cache: VerifiedTokens) -> None:
    raw = [str(SessionRefreshToken.for_user(user).access_token).encode() for _ in range(6)]
    for token in raw:
        empty_cache.add(token, AccessToken(token))

    assert list(empty_cache.tokens) == raw[2:]
