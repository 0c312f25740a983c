"""Sessions end when they must: revocation without races, the admin's "disable password",
deactivation, reuse of a spent refresh token, the absolute session lifetime, /api/token/verify/,
and tokens of another issuer or audience (outside review, items 2, 3, 5, 7, 8 and 13)."""

import threading
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import jwt
import pytest
from django.conf import settings
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from accounts.tokens import SessionRefreshToken

PASSWORD = "correct horse battery staple"


def sign_in(username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post("/api/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str) -> Any:
    return APIClient().post("/api/token/refresh/", {"refresh": token}, format="json")


def me_status(access: str) -> int:
    return APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def verify_status(token: str) -> int:
    return APIClient().post("/api/token/verify/", {"token": token}, format="json").status_code


def paused_at(target: str, reached: threading.Event, release: threading.Event) -> Any:
    """Patch classmethod `target` of SessionRefreshToken so that each call waits, just before it
    mints, until the test releases it: the interleaving is fixed, not left to timing."""
    original: Callable[..., Any] = getattr(SessionRefreshToken, target)

    def wait_then_mint(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        assert release.wait(timeout=30)
        return original(*args, **kwargs)

    return mock.patch.object(SessionRefreshToken, target, staticmethod(wait_then_mint))


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        finally:
            connection.close()  # each thread has its own database connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


# ---- item 2: a sign-in or a refresh that overlaps a password change ------------------------


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_that_overlaps_a_password_change_gets_tokens_that_are_refused() -> None:
    user = User.objects.create_user(username="alice", password=PASSWORD)
    reached, release = threading.Event(), threading.Event()
    with paused_at("for_user", reached, release):
        # The sign-in has read the row and checked the old password; it mints after the change.
        thread, result = in_thread(lambda: sign_in())
        assert reached.wait(timeout=30)
        user.set_password("a brand new passphrase")
        user.save()
        release.set()
        thread.join(timeout=30)

    pair = result[0]
    assert me_status(pair["access"]) == 401
    assert refresh(pair["refresh"]).status_code == 401
    assert verify_status(pair["refresh"]) == 401


@pytest.mark.django_db(transaction=True)
def test_a_refresh_that_overlaps_a_password_change_mints_a_pair_that_is_refused() -> None:
    user = User.objects.create_user(username="alice", password=PASSWORD)
    pair = sign_in()
    reached, release = threading.Event(), threading.Event()
    with paused_at("for_session", reached, release):
        # The refresh has checked the user and spent the token; it mints after the change.
        thread, result = in_thread(lambda: refresh(pair["refresh"]))
        assert reached.wait(timeout=30)
        user.set_password("a brand new passphrase")
        user.save()
        release.set()
        thread.join(timeout=30)

    response = result[0]
    assert response.status_code == 200  # it passed every check before the change committed
    renewed = response.json()
    assert me_status(renewed["access"]) == 401
    assert refresh(renewed["refresh"]).status_code == 401


# ---- item 3: disabling password sign-in, deactivating ---------------------------------------


def test_disabling_password_sign_in_in_the_admin_ends_every_session(user: User, tokens: dict[str, str]) -> None:
    # The admin's "Password-based authentication: Disabled" is this form, with this input.
    form = AdminPasswordChangeForm(user, data={"usable_password": "false"})
    assert form.is_valid(), form.errors
    form.save()

    assert not User.objects.get(pk=user.pk).has_usable_password()
    assert refresh(tokens["refresh"]).status_code == 401
    assert me_status(tokens["access"]) == 401


def test_set_unusable_password_ends_every_session(user: User, tokens: dict[str, str]) -> None:
    user.set_unusable_password()
    user.save()

    assert refresh(tokens["refresh"]).status_code == 401
    assert me_status(tokens["access"]) == 401


def test_reactivating_a_user_does_not_bring_back_the_old_sessions(user: User, tokens: dict[str, str]) -> None:
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()

    assert me_status(tokens["access"]) == 401
    assert refresh(tokens["refresh"]).status_code == 401
    assert verify_status(tokens["access"]) == 401
    assert me_status(sign_in()["access"]) == 200  # a new sign-in works


def test_saving_a_user_otherwise_keeps_the_sessions(user: User, tokens: dict[str, str]) -> None:
    user.first_name = "Alice"
    user.save()

    assert me_status(tokens["access"]) == 200
    assert refresh(tokens["refresh"]).status_code == 200


# ---- item 5: a spent token whose row was flushed --------------------------------------------


def test_a_refresh_token_without_its_outstanding_row_is_refused(tokens: dict[str, str]) -> None:
    renewed = refresh(tokens["refresh"]).json()  # spends tokens["refresh"]: it is blacklisted
    jti = SessionRefreshToken(tokens["refresh"])["jti"]  # type: ignore[arg-type]
    OutstandingToken.objects.filter(jti=jti).delete()  # as the hourly flush would (JWT_LEEWAY > 0)

    assert refresh(tokens["refresh"]).status_code == 401  # not recreated: the replay fails
    assert refresh(renewed["refresh"]).status_code == 200


# ---- item 7: /api/token/verify/ applies the API's user checks --------------------------------


def test_verify_refuses_the_tokens_of_a_changed_password(user: User, tokens: dict[str, str]) -> None:
    assert verify_status(tokens["access"]) == 200
    user.set_password("a brand new passphrase")
    user.save()

    assert verify_status(tokens["access"]) == 401
    assert verify_status(tokens["refresh"]) == 401


def test_verify_refuses_the_tokens_of_a_deactivated_user(user: User, tokens: dict[str, str]) -> None:
    user.is_active = False
    user.save()

    assert verify_status(tokens["access"]) == 401


def test_verify_refuses_the_tokens_of_a_deleted_user(user: User, tokens: dict[str, str]) -> None:
    user.delete()

    assert verify_status(tokens["access"]) == 401


# ---- item 8: reuse revokes the session; sessions end --------------------------------------


def test_reusing_a_spent_refresh_token_revokes_its_whole_session_and_only_it(user: User) -> None:
    laptop, phone = sign_in(), sign_in()
    renewed = refresh(laptop["refresh"]).json()

    assert refresh(laptop["refresh"]).status_code == 401  # the reuse: a thief, or the user's copy
    assert refresh(renewed["refresh"]).status_code == 401  # the session it belongs to is over
    assert refresh(phone["refresh"]).status_code == 200  # the user's other session is not


def test_a_refresh_keeps_the_session_and_its_sign_in_time(tokens: dict[str, str]) -> None:
    first = SessionRefreshToken(tokens["refresh"])  # type: ignore[arg-type]
    renewed = SessionRefreshToken(refresh(tokens["refresh"]).json()["refresh"])

    assert (renewed["sid"], renewed["auth_time"]) == (first["sid"], first["auth_time"])
    assert renewed["jti"] != first["jti"]


def test_no_token_outlives_the_session_lifetime(user: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.JWT_SESSION_LIFETIME = 60  # shorter than both token lifetimes would reach
    pair = sign_in()
    refresh_token = SessionRefreshToken(pair["refresh"])  # type: ignore[arg-type]
    access = jwt.decode(pair["access"], options={"verify_signature": False})

    assert refresh_token["exp"] == refresh_token["auth_time"] + 60
    assert access["exp"] <= refresh_token["auth_time"] + 60


def test_a_refresh_after_the_session_lifetime_is_refused(user: User, settings) -> None:  # type: ignore[no-untyped-def]
    pair = sign_in()
    settings.JWT_SESSION_LIFETIME = 0  # the session is now older than its lifetime

    response = refresh(pair["refresh"])

    assert response.status_code == 401
    assert "session has ended" in response.json()["message"]


# ---- item 13: issuer and audience ---------------------------------------------------------


def forged(user: User, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": "j" * 32,
        "user_id": str(user.pk),
        "hash_password": get_md5_hash_password(user.password),
        "ver": user.token_version,
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
        **overrides,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, settings.SIMPLE_JWT["SIGNING_KEY"], "HS256")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="control-accepted"),
        pytest.param({"iss": "staging"}, id="another-issuer"),
        pytest.param({"iss": None}, id="no-issuer"),
        pytest.param({"aud": "another-api"}, id="another-audience"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"ver": None}, id="no-version"),
        pytest.param({"ver": 7}, id="another-version"),
    ],
)
def test_a_token_of_another_environment_or_version_is_refused(user: User, overrides: dict[str, Any]) -> None:
    expected = 200 if not overrides else 401

    assert me_status(forged(user, **overrides)) == expected
