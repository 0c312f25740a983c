import logging
from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.authentication import recent_users
from accounts.models import User
from accounts.services import user_tokens_revoke
from core.network import client_address

logger = logging.getLogger("accounts.security")


@receiver(user_login_failed)
def log_failed_login(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    """Log who failed to sign in and from where; never the password."""
    username = str(credentials.get("username", ""))[:150]
    address = client_address(request.META) if request is not None else "-"
    logger.warning("login failed", extra={"username": username, "client": address})


@receiver(post_save, sender=User)
def revoke_refresh_tokens_on_password_change(sender: Any, instance: User, created: bool, **_: Any) -> None:
    """A password set anywhere (the API, the admin, `changepassword`, `ensure_user`) revokes the
    user's refresh tokens; Django's re-hash at sign-in (a new hash of the same password) does not.

    set_password() keeps the raw password in `_password` until save() has passed it to the
    validators; Django clears it before saving a re-hash, to tell the two apart.
    """
    if not created and getattr(instance, "_password", None) is not None:
        user_tokens_revoke(user=instance)


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def forget_the_kept_row(sender: Any, instance: User, **_: Any) -> None:
    """A user saved or deleted in this process is read again at its next request, whatever
    JWT_USER_CACHE_SECONDS says (other processes catch up within those seconds). Forgotten again
    at commit: until then another thread of this worker could read, and keep, the old row."""
    user_id = instance.pk
    recent_users.forget(user_id)
    transaction.on_commit(lambda: recent_users.forget(user_id))
