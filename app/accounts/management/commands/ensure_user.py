import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_ensure


class Command(BaseCommand):
    help = (
        "Create a regular user, or reset its password (revoking its refresh tokens) if it exists. "
        "The password is read from stdin."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        # From stdin, so the password never shows in `ps`, `docker inspect` or shell history.
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CommandError("Pipe the password on stdin, e.g. `printf '%s' \"$PW\" | manage.py ensure_user NAME`.")
        _, created = user_ensure(username=username, password=password)
        self.stdout.write(f"{'created' if created else 'updated'} user {username}")
