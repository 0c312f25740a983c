"""Parallel reuse of one refresh token against PostgreSQL: exactly one new pair, whatever the timing."""

import threading
import time
from unittest import mock

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import Token

from accounts import services
from accounts.models import User

PARALLEL = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_refreshes_of_one_token_yield_exactly_one_pair() -> None:
    User.objects.create_user(username="racer", password="correct horse battery staple")
    pair = (
        APIClient()
        .post("/api/token/", {"username": "racer", "password": "correct horse battery staple"}, format="json")
        .json()
    )
    start = threading.Barrier(PARALLEL)
    statuses: list[int] = []

    def spend() -> None:
        client = APIClient()
        start.wait()
        try:
            statuses.append(client.post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json").status_code)
        finally:
            connection.close()  # each thread has its own database connection

    # Hold every request after it has read the token's row and checked its user, just before it
    # spends the token, so all of them are inside the read-then-spend window at once: the worst
    # interleaving, every run, not by luck.
    active_user_for = services._active_user_for

    def check_then_wait(token: Token) -> User:
        user = active_user_for(token)
        time.sleep(0.5)
        return user

    threads = [threading.Thread(target=spend) for _ in range(PARALLEL)]
    with mock.patch.object(services, "_active_user_for", check_then_wait):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert sorted(statuses) == [200] + [401] * (PARALLEL - 1)


@pytest.mark.django_db(transaction=True)
def test_parallel_uses_of_one_reset_token_set_exactly_one_password() -> None:
    from accounts import views
    from accounts.emails import reset_token_make

    user = User.objects.create_user(username="resetter", email="r@example.com", password="correct horse battery staple")
    token = reset_token_make(user)
    parallel = 5
    start = threading.Barrier(parallel)
    statuses: list[int] = []

    def use(n: int) -> None:
        start.wait()
        try:
            reply = APIClient().post(
                "/api/auth/password/reset/confirm/",
                {"token": token, "new_password": f"new passphrase number {n}"},
                format="json",
                REMOTE_ADDR=f"198.51.100.{n}",
            )
            statuses.append(reply.status_code)
        finally:
            connection.close()

    # Every request has checked the token (unlocked, in the serializer) before any spends it.
    complete = views.password_reset_complete

    def checked_then_wait(**kwargs: object) -> bool:
        time.sleep(0.5)
        return complete(**kwargs)  # type: ignore[arg-type]

    threads = [threading.Thread(target=use, args=(n,)) for n in range(parallel)]
    with mock.patch.object(views, "password_reset_complete", checked_then_wait):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert sorted(statuses) == [204] + [400] * (parallel - 1)
