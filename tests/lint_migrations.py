"""`make lint`: refuse migrations that break the code still serving while a deploy runs them.

    python tests/lint_migrations.py     (in the test image, against a throwaway PostgreSQL)

`make deploy` applies the new migrations while the old version serves (docs/operations.md), so a
migration must keep the old code working: no dropped or renamed column or table it still reads,
no NOT NULL column without a database default, and no long lock. django-migration-linter reads
the SQL of every migration of this project's own apps (those under app/, `make startapp`'s
included; Django's and the libraries' are theirs to check) and names each offence. A migration a
person reviewed is listed, with the reason, in pyproject.toml [tool.djstack.reviewed-migrations].
"""

import sys
import tomllib
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
sys.path.insert(0, str(ROOT / "app"))  # the Django project, as manage.py would find it
django.setup()

from django.apps import apps  # noqa: E402  (after setup)
from django.conf import settings  # noqa: E402
from django_migration_linter import MigrationLinter  # noqa: E402


class ProjectMigrationLinter(MigrationLinter):
    """The linter, skipping the migrations listed as reviewed ("app_label.name")."""

    def __init__(self, reviewed: set[str], **options: object) -> None:
        self.reviewed = reviewed
        super().__init__(**options)  # type: ignore[arg-type]

    def should_ignore_migration(self, app_label: str, migration_name: str, *args: object, **kwargs: object) -> bool:
        if f"{app_label}.{migration_name}" in self.reviewed:
            return True
        return bool(super().should_ignore_migration(app_label, migration_name, *args, **kwargs))  # type: ignore[arg-type]


def main() -> int:
    reviewed = tomllib.loads(PYPROJECT.read_text())["tool"]["djstack"]["reviewed-migrations"]
    base = Path(settings.BASE_DIR).resolve()
    ours = [config.label for config in apps.get_app_configs() if base in Path(config.path).resolve().parents]
    unknown = sorted(name for name in reviewed if name.split(".", 1)[0] not in ours)
    if unknown:
        print(f"error: pyproject.toml reviews migrations of no app here: {', '.join(unknown)}", file=sys.stderr)
        return 1
    linter = ProjectMigrationLinter(
        set(reviewed), include_apps=ours, no_cache=True, analyser_string="postgresql", all_warnings_as_errors=True
    )
    linter.lint_all_migrations()
    if linter.has_errors:
        print(
            "error: a migration above would break the version still serving during `make deploy`. Split it\n"
            "       (expand now, contract in a later release: docs/operations.md), or, once reviewed, list it\n"
            '       in pyproject.toml [tool.djstack.reviewed-migrations] as "app.migration" = "why".',
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
