"""System checks run by every management command (migrate included) and by `manage.py check`."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import Error, register


@register()
def project_apps_have_migrations(app_configs: Iterable[AppConfig] | None = None, **kwargs: Any) -> list[Error]:
    """An app of this project with models needs a migrations package: without one, makemigrations
    says "No changes detected", migrate creates no table, and the API answers 500."""
    errors = []
    for config in app_configs or apps.get_app_configs():
        in_project = Path(config.path).resolve().is_relative_to(Path(settings.BASE_DIR).resolve())
        has_models = config.models_module is not None and bool(list(config.get_models()))
        if in_project and has_models and not (Path(config.path) / "migrations" / "__init__.py").is_file():
            errors.append(
                Error(
                    f"The app {config.label!r} has models but no migrations package.",
                    hint=f"Create app/{config.label}/migrations/__init__.py (empty), then run make makemigrations.",
                    obj=config,
                    id="core.E001",
                )
            )
    return errors
