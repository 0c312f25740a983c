"""Password reset and email change end to end: through Nginx, with the mail read from a real SMTP
server (tests/mail/catcher.py, the test rig's `mail` service, where the test stack's
EMAIL_URL points) and its code followed as a user would."""

import json
import re
import secrets
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

import smoke
from stack import Compose, env_value, login

Mailbox = Callable[[str], dict[str, Any]]


@pytest.fixture(scope="module")
def mail_url(compose: Compose) -> str:
    """The catcher's HTTP view; started here (a `make up` of another test removes it as an orphan)."""
    compose("--profile", "test", "up", "--detach", "--wait", "--quiet-build", "mail")
    address = compose("--profile", "test", "port", "mail", "8025").stdout.strip()
    assert address.startswith("127.0.0.1:"), f"the mail catcher is published on {address}, not on loopback"
    return f"http://{address}"


def messages(mail_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{mail_url}/messages", timeout=5) as reply:
        return json.load(reply)


@pytest.fixture
def mailbox(mail_url: str) -> Mailbox:
    """The one message for `address` (waits up to 20 s for it; fails on none or several)."""

    def one_for(address: str) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = [m for m in messages(mail_url) if address in m["to"]]
            if found:
                time.sleep(0.5)  # a second one would be a bug: give it the chance to show
                found = [m for m in messages(mail_url) if address in m["to"]]
                assert len(found) == 1, found
                return found[0]
            time.sleep(0.2)
        pytest.fail(f"no mail reached {address} within 20 s")

    return one_for


def code_in(message: dict[str, Any]) -> str:
    found = re.search(r"^    (\S+)\r?$", message["body"], re.M)
    assert found, message["body"]
    return found.group(1)


def post(base_url: str, path: str, body: dict[str, Any], token: str | None = None) -> smoke.Reply:
    time.sleep(0.25)  # under Nginx's 5/s on these paths, which is tested elsewhere
    return smoke.request(base_url, "POST", path, json_body=body, headers=smoke.bearer(token) if token else None)


def register(base_url: str) -> tuple[str, str, str]:
    name = f"mail-{secrets.token_hex(4)}"
    email, password = f"{name}@example.test", secrets.token_urlsafe(18)
    created = post(base_url, "/api/auth/register/", {"username": name, "email": email, "password": password})
    assert created.status == 201, created.body
    return name, email, password


def test_a_reset_mail_sets_a_new_password_once_and_ends_the_sessions(base_url: str, mailbox: Mailbox) -> None:
    name, email, password = register(base_url)
    session = login(base_url, name, password).json()

    asked = post(base_url, "/api/auth/password/reset/", {"email": email.upper()})
    code = code_in(mailbox(email))
    new = secrets.token_urlsafe(18)
    done = post(base_url, "/api/auth/password/reset/confirm/", {"token": code, "new_password": new})
    again = post(base_url, "/api/auth/password/reset/confirm/", {"token": code, "new_password": new + "x"})
    refresh = post(base_url, "/api/token/refresh/", {"refresh": session["refresh"]})
    access = smoke.request(base_url, "GET", "/api/me/", headers=smoke.bearer(session["access"]))

    assert asked.status == 202
    assert done.status == 204, done.body
    assert again.status == 400 and again.json()["fields"]["token"]
    assert refresh.status == 401 and access.status == 401
    assert login(base_url, name, password).status == 401
    assert login(base_url, name, new).status == 200


def test_an_unknown_address_gets_the_same_answer_and_no_mail(base_url: str, mail_url: str, mailbox: Mailbox) -> None:
    _, email, _ = register(base_url)
    nobody = f"nobody-{secrets.token_hex(4)}@example.test"

    unknown = post(base_url, "/api/auth/password/reset/", {"email": nobody})
    known = post(base_url, "/api/auth/password/reset/", {"email": email})
    mailbox(email)  # the known address's mail arrived, so the unknown one's would have too
    time.sleep(1)

    assert (unknown.status, unknown.json()) == (known.status, known.json())
    assert unknown.status == 202
    assert not [m for m in messages(mail_url) if nobody in m["to"]]


def test_an_expired_reset_mail_is_refused(base_url: str, env_file: str, mailbox: Mailbox) -> None:
    name, email, password = register(base_url)
    post(base_url, "/api/auth/password/reset/", {"email": email})
    code = code_in(mailbox(email))

    time.sleep(int(env_value(env_file, "PASSWORD_RESET_TIMEOUT")) + 2)
    expired = post(base_url, "/api/auth/password/reset/confirm/", {"token": code, "new_password": "x" + password})

    assert expired.status == 400 and expired.json()["fields"]["token"]
    assert login(base_url, name, password).status == 200


def test_an_email_change_waits_for_the_new_address_and_tells_the_old(base_url: str, mailbox: Mailbox) -> None:
    name, email, password = register(base_url)
    access = login(base_url, name, password).json()["access"]
    new_email = f"moved-{secrets.token_hex(4)}@example.test"

    asked = post(base_url, "/api/me/email/", {"new_email": new_email, "password": password}, access)
    before = smoke.request(base_url, "GET", "/api/me/", headers=smoke.bearer(access)).json()["email"]
    confirmed = post(base_url, "/api/auth/email/confirm/", {"token": code_in(mailbox(new_email))})
    after = smoke.request(base_url, "GET", "/api/me/", headers=smoke.bearer(access)).json()["email"]
    notice = mailbox(email)

    assert asked.status == 202 and before == email
    assert confirmed.status == 200 and confirmed.json() == {"email": new_email}
    assert after == new_email
    assert new_email in notice["body"] and "changed" in notice["subject"]


def test_an_email_change_to_a_taken_address_looks_the_same_and_changes_nothing(base_url: str, mailbox: Mailbox) -> None:
    name, email, password = register(base_url)
    _, taken, _ = register(base_url)
    access = login(base_url, name, password).json()["access"]
    free = f"free-{secrets.token_hex(4)}@example.test"

    to_taken = post(base_url, "/api/me/email/", {"new_email": taken.upper(), "password": password}, access)
    to_free = post(base_url, "/api/me/email/", {"new_email": free, "password": password}, access)
    notice = mailbox(taken.upper())

    assert (to_taken.status, to_taken.json()) == (to_free.status, to_free.json())
    assert "not changed" in notice["subject"] and not re.search(r"^    \S+\r?$", notice["body"], re.M)
    assert smoke.request(base_url, "GET", "/api/me/", headers=smoke.bearer(access)).json()["email"] == email
