"""Password reset and email change: the mails, their tokens, and what the answers reveal."""

import logging
import re
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from core import mail as core_mail
from core.mail import outbox

NEW_PASSWORD = "another long passphrase"


def sent() -> list[mail.EmailMessage]:
    """The mails sent so far, once the outbox's thread has done everything handed to it."""
    assert outbox.drain(timeout=10)
    return list(mail.outbox)


def token_in(message: mail.EmailMessage) -> str:
    found = re.search(r"^    (\S+)$", message.body, re.M)
    assert found, message.body
    return found.group(1)


def ask_reset(client: APIClient, email: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/password/reset/", {"email": email}, format="json", **extra)


def reset(client: APIClient, token: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/password/reset/confirm/", {"token": token, "new_password": password}, format="json")


@pytest.mark.django_db
def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    api_client: APIClient, user: User, tokens: dict[str, str]
) -> None:
    asked = ask_reset(api_client, "alice@example.com")
    (message,) = sent()
    token = token_in(message)

    done = reset(api_client, token)
    again = reset(api_client, token, "yet another passphrase")
    old_refresh = api_client.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    signed_in = api_client.post("/api/token/", {"username": "alice", "password": NEW_PASSWORD}, format="json")

    assert asked.status_code == 202 and message.to == ["alice@example.com"]
    assert done.status_code == 204
    assert again.status_code == 400 and "token" in again.json()["fields"]
    assert old_refresh.status_code == 401
    assert signed_in.status_code == 200


@pytest.mark.django_db
def test_an_unknown_address_gets_the_same_answer_the_same_work_and_no_mail(api_client: APIClient, user: User) -> None:
    with mock.patch.object(outbox, "submit", wraps=outbox.submit) as submit:
        with CaptureQueriesContext(connection) as known_queries:
            known = ask_reset(api_client, "alice@example.com", REMOTE_ADDR="198.51.100.1")
        with CaptureQueriesContext(connection) as unknown_queries:  # each client's first request
            unknown = ask_reset(api_client, "nobody@example.com", REMOTE_ADDR="198.51.100.2")

    def shapes(queries: CaptureQueriesContext) -> list[str]:
        return [re.sub(r"'[^']*'|\bs\d+_x\d+\b|\b\d+\b", "?", q["sql"]) for q in queries.captured_queries]

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    assert shapes(known_queries) == shapes(unknown_queries)  # the same statements, in the same order
    assert submit.call_count == 2  # one job each; the unknown address's sends nothing
    assert [m.to for m in sent()] == [["alice@example.com"]]


@pytest.mark.django_db
def test_addresses_are_compared_without_case(api_client: APIClient, user: User) -> None:
    ask_reset(api_client, "ALICE@Example.COM")

    assert [m.to for m in sent()] == [["alice@example.com"]]


@pytest.mark.django_db
def test_an_inactive_account_gets_no_mail(api_client: APIClient, user: User) -> None:
    user.is_active = False
    user.save()

    assert ask_reset(api_client, "alice@example.com").status_code == 202
    assert sent() == []


@pytest.mark.django_db
def test_an_expired_reset_link_is_refused(api_client: APIClient, user: User, settings) -> None:  # type: ignore[no-untyped-def]
    ask_reset(api_client, "alice@example.com")
    token = token_in(sent()[0])
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)

    with mock.patch.object(default_token_generator, "_now", return_value=later):
        response = reset(api_client, token)

    assert response.status_code == 400 and "token" in response.json()["fields"]
    user.refresh_from_db()
    assert user.check_password("correct horse battery staple")


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "x", "MQ.abc-def", "!!.??", "MQ" * 50])
def test_a_malformed_reset_token_is_a_400(api_client: APIClient, user: User, token: str) -> None:
    response = reset(api_client, token)

    assert response.status_code == 400 and response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_the_new_password_must_pass_the_validators(api_client: APIClient, user: User) -> None:
    ask_reset(api_client, "alice@example.com")

    response = reset(api_client, token_in(sent()[0]), "123")

    assert response.status_code == 400 and "new_password" in response.json()["fields"]


@pytest.mark.django_db
def test_reset_requests_are_throttled_per_address_whoever_asks(api_client: APIClient, user: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "account_email": "2/hour"},
    }
    with mock.patch(
        "rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES", settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    ):
        known = [
            ask_reset(api_client, "alice@example.com", REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(3)
        ]
        unknown = [
            ask_reset(api_client, "Nobody@example.com", REMOTE_ADDR=f"203.0.113.{n}").status_code for n in range(3)
        ]

    assert known == unknown == [202, 202, 429]
    assert len(sent()) == 2


@pytest.mark.django_db
@override_settings(ACCOUNT_EMAILS_ENABLED=False)
def test_the_flows_can_be_switched_off(api_client: APIClient, auth_client: APIClient) -> None:
    assert ask_reset(api_client, "alice@example.com").status_code == 404
    assert (
        auth_client.post("/api/me/email/", {"new_email": "a@example.org", "password": "x"}, format="json").status_code
        == 404
    )


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND="tests.app.accounts.test_account_emails.FailingBackend")
def test_a_failing_mail_server_is_logged_and_retried_never_an_error_for_the_client(
    api_client: APIClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    with mock.patch.object(core_mail, "RETRY_PAUSES", (0.0, 0.0)), caplog.at_level(logging.INFO, "core.mail"):
        response = ask_reset(api_client, "alice@example.com")
        sent()

    assert response.status_code == 202
    attempts = [r for r in caplog.records if r.name == "core.mail"]
    assert [r.levelname for r in attempts] == ["WARNING", "WARNING", "ERROR"]
    assert "a***@example.com" in attempts[-1].getMessage() and "alice@" not in attempts[-1].getMessage()


# ---- Email change ---------------------------------------------------------------------------


def ask_change(client: APIClient, new_email: str, password: str = "correct horse battery staple"):  # type: ignore[no-untyped-def]
    return client.post("/api/me/email/", {"new_email": new_email, "password": password}, format="json")


def confirm(client: APIClient, token: str):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/email/confirm/", {"token": token}, format="json")


@pytest.mark.django_db
def test_the_new_address_confirms_before_it_replaces_the_old_which_is_told(
    auth_client: APIClient, user: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    asked = ask_change(auth_client, "alice@example.org")
    user.refresh_from_db()
    unchanged = user.email
    (confirmation,) = sent()

    with django_capture_on_commit_callbacks(execute=True):  # the notice leaves at commit
        done = confirm(APIClient(), token_in(confirmation))
    again = confirm(APIClient(), token_in(confirmation))
    user.refresh_from_db()

    assert asked.status_code == 202 and unchanged == "alice@example.com"
    assert confirmation.to == ["alice@example.org"]
    assert done.status_code == 200 and done.json() == {"email": "alice@example.org"}
    assert user.email == "alice@example.org"
    assert again.status_code == 400
    notice = sent()[-1]
    assert notice.to == ["alice@example.com"] and "alice@example.org" in notice.body


@pytest.mark.django_db
def test_a_taken_address_gets_the_same_answer_and_its_owner_a_notice(auth_client: APIClient, user: User) -> None:
    User.objects.create_user(username="bob", email="bob@example.com", password="x")

    taken = ask_change(auth_client, "BOB@example.com")
    free = ask_change(auth_client, "carol@example.com")
    messages = sent()

    assert (taken.status_code, taken.json()) == (free.status_code, free.json())
    assert [m.to for m in messages] == [["BOB@example.com"], ["carol@example.com"]]
    assert "was not changed" in messages[0].subject and not re.search(r"^    \S+$", messages[0].body, re.M)


@pytest.mark.django_db
def test_an_address_taken_before_the_confirmation_is_refused(auth_client: APIClient, user: User) -> None:
    ask_change(auth_client, "shared@example.com")
    token = token_in(sent()[0])
    User.objects.create_user(username="bob", email="Shared@example.com", password="x")

    response = confirm(APIClient(), token)
    user.refresh_from_db()

    assert response.status_code == 400 and user.email == "alice@example.com"


@pytest.mark.django_db
def test_an_email_change_needs_the_current_password(auth_client: APIClient, user: User) -> None:
    response = ask_change(auth_client, "alice@example.org", password="wrong")

    assert response.status_code == 400 and "password" in response.json()["fields"]
    assert sent() == []


@pytest.mark.django_db
def test_an_expired_confirmation_is_refused(auth_client: APIClient, user: User, settings) -> None:  # type: ignore[no-untyped-def]
    ask_change(auth_client, "alice@example.org")
    token = token_in(sent()[0])
    later = __import__("time").time() + settings.PASSWORD_RESET_TIMEOUT + 1

    with mock.patch("django.core.signing.time.time", return_value=later):
        response = confirm(APIClient(), token)

    assert response.status_code == 400


@pytest.mark.django_db
def test_a_confirmation_of_another_change_is_refused_once_the_address_changed(
    auth_client: APIClient, user: User
) -> None:
    ask_change(auth_client, "first@example.org")
    ask_change(auth_client, "second@example.org")
    first, second = (token_in(m) for m in sent())

    assert confirm(APIClient(), second).status_code == 200
    assert confirm(APIClient(), first).status_code == 400


@pytest.mark.django_db
def test_the_profile_refuses_another_address_and_passes_its_own(auth_client: APIClient, user: User) -> None:
    other = auth_client.patch("/api/me/", {"email": "else@example.org"}, format="json")
    own = auth_client.patch("/api/me/", {"email": "ALICE@example.com", "first_name": "A"}, format="json")

    assert other.status_code == 400 and "email" in other.json()["fields"]
    assert own.status_code == 200 and own.json()["email"] == "alice@example.com"
