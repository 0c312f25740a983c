from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections
from django.db.utils import OperationalError


class Command(MigrateCommand):
    """Django's migrate, with one clear line instead of a traceback when the database cannot be reached."""

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        try:
            connections[alias].ensure_connection()
        except OperationalError as exc:
            db = connections[alias].settings_dict
            raise CommandError(
                f"Cannot connect to the database {db['NAME']!r} at {db['HOST']}:{db['PORT'] or 5432} "
                f"as {db['USER']!r}: {str(exc).strip()}. Check DATABASE_URL and that the database is running."
            ) from exc
        super().handle(*args, **options)
