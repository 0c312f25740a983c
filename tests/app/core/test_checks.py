"""The project's system checks: an app with models but no migrations package stops every command."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps

from core.checks import project_apps_have_migrations


def app_config(path: Path, with_models: bool = True) -> SimpleNamespace:
    models = [object()] if with_models else []
    return SimpleNamespace(label="bookmarks", path=str(path), models_module=object(), get_models=lambda: models)


def test_an_app_with_models_and_no_migrations_package_is_an_error(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.BASE_DIR = tmp_path
    (tmp_path / "bookmarks").mkdir()

    errors = project_apps_have_migrations([app_config(tmp_path / "bookmarks")])  # type: ignore[list-item]

    assert [error.id for error in errors] == ["core.E001"]
    assert "app/bookmarks/migrations/__init__.py" in (errors[0].hint or "")


@pytest.mark.parametrize("setup", ["has-migrations", "no-models", "outside-the-project"])
def test_apps_that_need_no_migrations_package_pass(tmp_path: Path, settings, setup: str) -> None:  # type: ignore[no-untyped-def]
    settings.BASE_DIR = tmp_path / "project"
    app = (tmp_path / "elsewhere" if setup == "outside-the-project" else tmp_path / "project") / "bookmarks"
    (app / "migrations").mkdir(parents=True)
    if setup == "has-migrations":
        (app / "migrations" / "__init__.py").write_text("")

    config = app_config(app, with_models=setup != "no-models")

    assert project_apps_have_migrations([config]) == []  # type: ignore[list-item]


def test_the_shipped_apps_pass() -> None:
    assert project_apps_have_migrations(apps.get_app_configs()) == []
