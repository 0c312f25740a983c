"""JWT_USER_CACHE_SECONDS: reads may reuse a user row a worker read for a bearer token, for that
many seconds; a kept row never refuses a token, writes always read the row, 0 reads every time."""

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import authentication
from accounts.authentication import JWTUserAuthentication, RecentUsers, recent_users
from accounts.models import User
from accounts.selectors import user_row_get_by_id
from accounts.tokens import SessionRefreshToken


@pytest.fixture(autouse=True)
def no_kept_rows() -> Iterator[None]:
    recent_users.rows.clear()
    yield
    recent_users.rows.clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """authentication's monotonic clock, moved by hand: clock[0] += seconds."""
    now = [1000.0]
    monkeypatch.setattr(authentication, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


@pytest.fixture
def kept_for_5_seconds(settings: Any, clock: list[float]) -> None:
    settings.JWT_USER_CACHE_SECONDS = 5


def me(client: APIClient, token: str) -> Any:
    return client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")


def user_selects(queries: CaptureQueriesContext) -> int:
    return sum('FROM "accounts_user"' in query["sql"] for query in queries.captured_queries)


def changed_elsewhere(user: User, **fields: Any) -> None:
    """A change another worker or replica makes: this process gets no signal of it."""
    User.objects.filter(pk=user.pk).update(**fields)


def test_by_default_every_request_reads_the_user(api_client: APIClient, user: User, tokens: dict[str, str]) -> None:
    assert me(api_client, tokens["access"]).status_code == 200
    changed_elsewhere(user, is_active=False)

    response = me(api_client, tokens["access"])

    assert (response.status_code, response.json()["code"]) == (401, "user_inactive")
    assert recent_users.rows == {}


@pytest.mark.usefixtures("kept_for_5_seconds")
def test_reads_reuse_the_row_for_the_set_seconds_then_read_it_again(
    api_client: APIClient, user: User, tokens: dict[str, str], clock: list[float]
) -> None:
    assert me(api_client, tokens["access"]).json()["first_name"] == ""
    changed_elsewhere(user, first_name="Alicia")

    with CaptureQueriesContext(connection) as kept:
        within = me(api_client, tokens["access"])
    clock[0] += 5
    with CaptureQueriesContext(connection) as read_again:
        after = me(api_client, tokens["access"])

    assert (within.status_code, within.json()["first_name"], user_selects(kept)) == (200, "", 0)
    assert (after.status_code, after.json()["first_name"], user_selects(read_again)) == (200, "Alicia", 1)


@pytest.mark.usefixtures("kept_for_5_seconds")
def test_a_user_deactivated_elsewhere_is_refused_within_the_set_seconds(
    api_client: APIClient, user: User, tokens: dict[str, str], clock: list[float]
) -> None:
    assert me(api_client, tokens["access"]).status_code == 200
    changed_elsewhere(user, is_active=False)

    still = me(api_client, tokens["access"])  # the documented trade-off
    clock[0] += 5
    refused = me(api_client, tokens["access"])

    assert still.status_code == 200
    assert (refused.status_code, refused.json()["code"]) == (401, "user_inactive")


@pytest.mark.usefixtures("kept_for_5_seconds")
@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda user: setattr(user, "is_active", False) or user.save(), "user_inactive"),
        (lambda user: user.set_password("another correct horse battery") or user.save(), "password_changed"),
        (lambda user: user.delete(), "user_not_found"),
    ],
    ids=["deactivated", "password changed", "deleted"],
)
def test_a_user_changed_in_this_process_is_refused_at_once(
    api_client: APIClient, user: User, tokens: dict[str, str], change: Any, code: str
) -> None:
    assert me(api_client, tokens["access"]).status_code == 200

    change(user)
    response = me(api_client, tokens["access"])

    assert (response.status_code, response.json()["code"]) == (401, code)


@pytest.mark.usefixtures("kept_for_5_seconds")
def test_a_kept_row_never_refuses_a_token_the_database_accepts(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    """Another worker re-hashed the password at a sign-in and issued a token for the new hash: the
    row kept here has the old hash, so it would refuse that token as 'password changed'."""
    assert me(api_client, tokens["access"]).status_code == 200
    changed_elsewhere(user, password="argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$re-hashed")
    new_token = str(SessionRefreshToken.for_user(User.objects.get(pk=user.pk)).access_token)

    response = me(api_client, new_token)

    assert response.status_code == 200
    assert me(api_client, tokens["access"]).status_code == 401  # and the fresh row replaced the kept one


@pytest.mark.usefixtures("kept_for_5_seconds")
def test_writes_always_read_the_row(api_client: APIClient, user: User, tokens: dict[str, str]) -> None:
    assert me(api_client, tokens["access"]).status_code == 200
    changed_elsewhere(user, first_name="Alicia")
    header = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}

    patched = api_client.patch("/api/me/", {"last_name": "Liddell"}, format="json", **header)
    changed_elsewhere(user, is_active=False)
    refused = api_client.patch("/api/me/", {"last_name": "L."}, format="json", **header)

    assert (patched.status_code, patched.json()["first_name"], patched.json()["last_name"]) == (
        200,
        "Alicia",
        "Liddell",
    )
    assert (refused.status_code, refused.json()["code"]) == (401, "user_inactive")
    assert User.objects.get(pk=user.pk).first_name == "Alicia"


@pytest.mark.usefixtures("kept_for_5_seconds")
def test_each_request_gets_its_own_user_instance(user: User) -> None:
    token = SessionRefreshToken.for_user(user).access_token
    authenticator = JWTUserAuthentication()
    authenticator.reuse_seconds = 5

    first, second = authenticator.get_user(token), authenticator.get_user(token)

    assert len(recent_users.rows) == 1
    assert first == second and first is not second


def test_the_cache_keeps_at_most_its_size_the_newest(user: User, clock: list[float]) -> None:
    kept = RecentUsers(size=2)
    row = user_row_get_by_id(user_id=user.pk)
    assert row is not None
    for user_id in (1, 2, 3):
        kept.add(user_id, row, seconds=5)

    assert list(kept.rows) == ["2", "3"]
    assert kept.get(1) is None and kept.get(3) == row


@pytest.mark.usefixtures("kept_for_5_seconds")
def test_a_row_kept_before_the_commit_is_forgotten_at_the_commit(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    old_row = user_row_get_by_id(user_id=user.pk)
    assert old_row is not None
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
        recent_users.add(user.pk, old_row, seconds=5)  # another thread read it before the commit
        assert recent_users.get(user.pk) == old_row

    assert recent_users.get(user.pk) is None
