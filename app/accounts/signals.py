import logging
from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from core.network import client_address

logger = logging.getLogger("accounts.security")


@receiver(user_login_failed)
def log_failed_login(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    """Log who failed to sign in and from where; never the password."""
    username = str(credentials.get("username", ""))[:150]
    address = client_address(request) if request is not None else "-"
    logger.warning("login failed", extra={"username": username, "client": address})
