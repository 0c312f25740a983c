import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User


@pytest.mark.django_db
def test_ensure_user_creates_the_user_with_the_password_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("first-password\n"))

    call_command("ensure_user", "smoke", stdout=io.StringIO())

    assert User.objects.get(username="smoke").check_password("first-password")


@pytest.mark.django_db
def test_ensure_user_twice_resets_the_password_and_reactivates(monkeypatch: pytest.MonkeyPatch) -> None:
    User.objects.create_user(username="smoke", password="old", is_active=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("new-password\n"))

    call_command("ensure_user", "smoke", stdout=io.StringIO())

    user = User.objects.get(username="smoke")
    assert (user.check_password("new-password"), user.is_active) == (True, True)
    assert User.objects.filter(username="smoke").count() == 1


def test_ensure_user_without_a_password_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    with pytest.raises(CommandError, match="Pipe the password on stdin"):
        call_command("ensure_user", "smoke")


def test_migrate_against_an_unreachable_database_says_so_in_one_line() -> None:
    env = os.environ | {"DATABASE_URL": "postgres://app:pw@127.0.0.1:1/nowhere"}

    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "Cannot connect to the database 'nowhere' at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
