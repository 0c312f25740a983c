"""make startapp: a new owner-scoped resource, wired in, from the app template in the repository."""

import os
import re
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.templates import TemplateCommand
from django.template import Context, Engine

# The lines each new app is inserted before (app/config/settings.py, app/config/urls.py).
SETTINGS_MARK = "    # Your apps: make startapp adds each one above this line."
URLS_MARK = "    # Your resources: make startapp adds each one above this line."


class Command(TemplateCommand):
    help = (
        "Create an owner-scoped resource app (model, migrations folder, selectors, services, serializer, "
        "views, urls, admin, tests) from a template built on startapp's, and add it to INSTALLED_APPS and the URLs."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="the app's name, plural and lower case: bookmarks")
        parser.add_argument("--model", help="the model's class name (default: the name, singular, capitalised)")
        parser.add_argument("--template", required=True, help="the folder holding app/ and tests/ templates")
        parser.add_argument("--tests-dir", required=True, help="where the app's tests folder goes (tests/app)")

    def handle(self, **options: Any) -> None:  # type: ignore[override]
        name, template = options["name"], Path(options["template"])
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise CommandError(f"{name!r} is not a valid app name: lower-case letters, digits and _, a letter first.")
        if (Path(settings.BASE_DIR) / name).exists():
            raise CommandError(f"app/{name}/ exists already.")
        model = options["model"] or name.removesuffix("s").title().replace("_", "")
        if not model.isidentifier() or not model[0].isupper():
            raise CommandError(f"{model!r} is not a model class name; give one with MODEL=...")
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", model).lower()
        extra = {"model_name": model, "model_snake": snake}
        # No target: startapp makes app/<name>/ itself, in the current folder (an existing folder
        # would make the name importable, and startapp refuses names it can import).
        os.chdir(settings.BASE_DIR)
        super().handle("app", name, None, template=str(template / "app"), extensions=["py"], files=[],
                       exclude=[], **extra, verbosity=options["verbosity"])  # fmt: skip
        self.write_tests(template / "tests" / "test_app.py-tpl", Path(options["tests_dir"]) / name, name, extra)
        insert_before(Path(settings.BASE_DIR) / "config" / "settings.py", SETTINGS_MARK, f'    "{name}",')
        include = f'    path("api/", include("{name}.urls")),'
        insert_before(Path(settings.BASE_DIR) / "config" / "urls.py", URLS_MARK, include)
        self.stdout.write(f"app/{name}/ ({model}), tests/app/{name}/, INSTALLED_APPS and config/urls.py: done.")

    def write_tests(self, template: Path, folder: Path, name: str, extra: dict[str, str]) -> None:
        """The app's tests, rendered from the template like its code."""
        context = Context({"app_name": name, "camel_case_app_name": name.title().replace("_", ""), **extra})
        folder.mkdir(parents=True, exist_ok=True)
        rendered = Engine().from_string(template.read_text()).render(context)
        (folder / f"test_{name}.py").write_text(rendered)


def insert_before(path: Path, mark: str, line: str) -> None:
    """Insert `line` before the line `mark` in the file; a file without the mark is a clear error."""
    text = path.read_text()
    if mark not in text:
        raise CommandError(f"{path.name} has lost the line {mark.strip()!r}; add {line.strip()!r} by hand.")
    path.write_text(text.replace(mark, f"{line}\n{mark}", 1))
