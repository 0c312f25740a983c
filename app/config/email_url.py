"""Where mail goes, from EMAIL_URL or Django's EMAIL_* variables; a clear error for a bad value."""

from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOG = "core.mail.LogEmailBackend"
# scheme -> (default port, STARTTLS, implicit TLS)
SCHEMES = {"smtp": (25, False, False), "smtp+tls": (587, True, False), "smtps": (465, False, True)}
HELP = "EMAIL_URL must be smtp://[user:password@]host[:port], smtp+tls://... (STARTTLS), smtps://... (TLS) or console:"


def email_settings(
    *, url: str, host: str, port: int, user: str, password: str, use_tls: bool, use_ssl: bool, required: bool
) -> dict[str, Any]:
    """Django's EMAIL_* settings. `required`: with no mail server configured, stop (the account
    emails of a production stack would be lost); otherwise mail goes to the log."""
    if url:
        return _from_url(url, user=user, password=password)
    if use_tls and use_ssl:
        raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
    if host:
        return _smtp(host, port or (465 if use_ssl else 587 if use_tls else 25), user, password, use_tls, use_ssl)
    if required:
        raise ImproperlyConfigured(
            "No mail server is configured, and password reset and email change send mail: set EMAIL_URL "
            "(e.g. smtp+tls://user:password@smtp.example.com:587; docs/configuration.md#email), or "
            "EMAIL_URL=console: to write mail to the log, or ACCOUNT_EMAILS_ENABLED=0 to turn both off."
        )
    return {**_smtp("", 0, "", "", False, False), "EMAIL_BACKEND": LOG}


def _from_url(url: str, *, user: str, password: str) -> dict[str, Any]:
    if url.rstrip("/") in {"console:", "console:/"}:
        return {**_smtp("", 0, "", "", False, False), "EMAIL_BACKEND": LOG}
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"EMAIL_URL is not a valid URL ({exc}). {HELP}.") from None
    if parts.scheme not in SCHEMES:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {parts.scheme!r}. {HELP}.")
    if not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL names no host. {HELP}.")
    if parts.path.strip("/") or parts.query:
        raise ImproperlyConfigured(f"EMAIL_URL: nothing may follow the host and port. {HELP}.")
    default_port, starttls, implicit_tls = SCHEMES[parts.scheme]
    # The password may live apart from the URL (EMAIL_HOST_PASSWORD or its _FILE): URL-encode
    # special characters otherwise.
    return _smtp(
        parts.hostname,
        port or default_port,
        unquote(parts.username or "") or user,
        unquote(parts.password or "") or password,
        starttls,
        implicit_tls,
    )


def _smtp(host: str, port: int, user: str, password: str, use_tls: bool, use_ssl: bool) -> dict[str, Any]:
    return {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": host or "localhost",
        "EMAIL_PORT": port or 25,
        "EMAIL_HOST_USER": user,
        "EMAIL_HOST_PASSWORD": password,
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }
