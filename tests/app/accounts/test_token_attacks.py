"""Forged, misused and malformed tokens: every one is a 401 with a Bearer challenge, never a 500."""

import base64
import json
import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User

KEY = settings.SIMPLE_JWT["SIGNING_KEY"]
# The codes SimpleJWT and DRF give a refused credential.
REFUSAL_CODES = {
    "token_not_valid",
    "bad_authorization_header",
    "not_authenticated",
    "authentication_failed",
    "user_not_found",
    "user_inactive",
    "password_changed",
    "sessions_revoked",
}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(user: User, **overrides: Any) -> dict[str, Any]:
    """Claims of a valid access token for the user, with overrides (None removes a claim)."""
    now = int(time.time())
    base = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": "j" * 32,
        "user_id": str(user.pk),
        "hash_password": get_md5_hash_password(user.password),
        "ver": user.token_version,
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def me(client: APIClient, authorization: str, **extra: Any):  # type: ignore[no-untyped-def]
    return client.get("/api/me/", HTTP_AUTHORIZATION=authorization, **extra)


def assert_refused(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] in REFUSAL_CODES


def test_a_correctly_forged_token_is_accepted(api_client: APIClient, user: User) -> None:
    """The control: the forging helpers make tokens the API accepts, so the refusals below mean something."""
    token = jwt.encode(claims(user), KEY, algorithm="HS256")

    assert me(api_client, f"Bearer {token}").status_code == 200


def test_alg_none_is_refused(api_client: APIClient, user: User) -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(user))}."

    assert_refused(me(api_client, f"Bearer {token}"))


def test_the_right_key_with_another_algorithm_is_refused(api_client: APIClient, user: User) -> None:
    token = jwt.encode(claims(user), KEY, algorithm="HS512")

    assert_refused(me(api_client, f"Bearer {token}"))


def test_another_key_is_refused(api_client: APIClient, user: User) -> None:
    token = jwt.encode(claims(user), "another-key-of-at-least-32-bytes-long!", algorithm="HS256")

    assert_refused(me(api_client, f"Bearer {token}"))


def test_a_flipped_payload_byte_is_refused(api_client: APIClient, tokens: dict[str, str]) -> None:
    header, payload, signature = tokens["access"].split(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]

    assert_refused(me(api_client, f"Bearer {header}.{flipped}.{signature}"))


def test_a_stripped_signature_is_refused(api_client: APIClient, tokens: dict[str, str]) -> None:
    header, payload, _ = tokens["access"].split(".")

    assert_refused(me(api_client, f"Bearer {header}.{payload}."))


def test_a_refresh_token_is_refused_as_an_access_token(api_client: APIClient, tokens: dict[str, str]) -> None:
    assert_refused(me(api_client, f"Bearer {tokens['refresh']}"))


def test_an_access_token_is_refused_by_refresh(api_client: APIClient, tokens: dict[str, str]) -> None:
    response = api_client.post("/api/token/refresh/", {"refresh": tokens["access"]}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": int(time.time()) - 60}, id="expired"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
    ],
)
def test_tokens_outside_their_lifetime_are_refused(
    api_client: APIClient, user: User, overrides: dict[str, Any]
) -> None:
    token = jwt.encode(claims(user, **overrides), KEY, algorithm="HS256")

    assert_refused(me(api_client, f"Bearer {token}"))


def test_an_access_token_of_a_deleted_user_is_refused(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    user.delete()

    assert_refused(me(api_client, f"Bearer {tokens['access']}"))


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer", id="scheme-only"),
        pytest.param("Bearer a b", id="three-parts"),
        pytest.param("Bearer " + "x" * 10_240, id="10KB-garbage"),
        pytest.param("Bearer \u00e9\u00e8\u00ff\u00fe", id="non-ascii"),
        pytest.param("Bearer \x00\x01", id="control-bytes"),
        pytest.param("Basic YWxpY2U6cGFzcw==", id="basic-scheme"),
    ],
)
@pytest.mark.django_db
def test_malformed_authorization_headers_are_refused(api_client: APIClient, authorization: str) -> None:
    assert_refused(me(api_client, authorization))


def test_a_lower_case_scheme_is_not_accepted(api_client: APIClient, tokens: dict[str, str]) -> None:
    assert_refused(me(api_client, f"bearer {tokens['access']}"))


@pytest.mark.parametrize("parameter", ["token", "access_token", "jwt", "access"])
def test_a_token_in_the_query_string_is_ignored(api_client: APIClient, tokens: dict[str, str], parameter: str) -> None:
    assert_refused(api_client.get(f"/api/me/?{parameter}={tokens['access']}"))


def test_a_token_issued_before_a_password_change_is_refused(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    user.set_password("a brand new passphrase")
    user.save()

    assert_refused(me(api_client, f"Bearer {tokens['access']}"))
