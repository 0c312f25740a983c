#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# The exit status of a bad setting (sysexits' EX_CONFIG), apart from a command's own failure
# (1): the migrate job tells the two apart (docker-compose.yml).
CONFIGURATION_ERROR = 78


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018  (loads the settings: a bad value stops here, in one line)
    except ImproperlyConfigured as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        sys.exit(CONFIGURATION_ERROR)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
