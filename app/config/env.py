"""Read settings from the environment strictly: a bad value stops start-up with a clear message.

Every helper treats an unset and an empty variable alike: both mean "use the default", so a
`VAR=` line in an env file, or an orchestrator passing an empty value, never changes a setting.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable's value, or `default`; with no default, a missing or empty value is an error."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ImproperlyConfigured(f"{name} is not set. Set it in the environment or in .env (see .env.example).")
    return default


def env_secret(name: str, default: str | None = None) -> str:
    """Like env_str, but the value may instead come from the file named by NAME_FILE (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE", "").strip()
    if path and os.environ.get(name, "").strip():
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if not path:
        if default is None and not os.environ.get(name, "").strip():
            raise ImproperlyConfigured(
                f"{name} is not set. Set it (or {name}_FILE, a file holding it) in the environment or in .env."
            )
        return env_str(name, default)
    try:
        with open(path, encoding="utf-8") as secret_file:
            value = secret_file.read().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}.") from None
    if not value:
        raise ImproperlyConfigured(f"{name}_FILE={path!r} is empty.")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Parse 1/0, true/false, yes/no, on/off (any case), or return `default` when the variable is unset
    or empty; anything else is an error, never a silent True."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int) -> int:
    """Parse a whole number, or return `default` when the variable is unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: str = "") -> list[str]:
    """Split a comma-separated value (or `default`, when the variable is unset or empty) into its
    non-empty, stripped items."""
    raw = os.environ.get(name, "").strip() or default
    return [item.strip() for item in raw.split(",") if item.strip()]
