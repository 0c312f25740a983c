"""Read settings from the environment strictly: a bad value stops start-up with a clear message.

Every helper treats an unset and an empty variable alike: both mean "use the default", so a
`VAR=` line in an env file, or an orchestrator passing an empty value, never changes a setting.
"""

import os
import re

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


_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def env_dns_names(name: str) -> list[str]:
    """Split a comma-separated list of DNS names that an ACME server can prove by HTTP-01 (no
    wildcards, no addresses), lower-cased and each once; refuse anything else with its reason."""
    names: list[str] = []
    for item in env_list(name):
        host = item.lower().rstrip(".")
        if "*" in host:
            raise ImproperlyConfigured(
                f"{name}: {host!r}: a wildcard needs the DNS-01 challenge; this stack answers HTTP-01, "
                "so list each name."
            )
        if re.fullmatch(r"[0-9.]+|\[?[0-9a-f:]+\]?", host):
            raise ImproperlyConfigured(f"{name}: {host!r} is an address; certificates here are for DNS names.")
        labels = host.split(".")
        if len(host) > 253 or len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels):
            raise ImproperlyConfigured(f"{name}: {host!r} is not a DNS name (like api.example.com).")
        if host not in names:
            names.append(host)
    return names
