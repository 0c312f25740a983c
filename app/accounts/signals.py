import logging
from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.authentication import recent_users
from accounts.models import User
from accounts.services import user_sessions_revoke
from core.network import client_address

logger = logging.getLogger("accounts.security")


@receiver(user_login_failed)
def log_failed_login(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    """Log who failed to sign in and from where; never the password."""
    username = str(credentials.get("username", ""))[:150]
    address = client_address(request.META) if request is not None else "-"
    logger.warning("login failed", extra={"username": username, "client": address})


@receiver(pre_save, sender=User)
def note_a_revoking_change(sender: Any, instance: User, raw: bool = False, **_: Any) -> None:
    """Mark a save that must end every session of the user: a new password set anywhere (the
    API, the admin, `changepassword`, `ensure_user`), the password disabled
    (set_unusable_password(), the admin's "password-based authentication: disabled"), or a
    deactivation. Django's re-hash at sign-in (a new hash of the same password) is none of these.

    set_password() keeps the raw password in `_password` until save() has passed it to the
    validators; Django clears it before saving a re-hash, to tell the two apart. One query, on
    user saves only (rare: not on sign-in, UPDATE_LAST_LOGIN is off).
    """
    instance._revokes_sessions = False  # type: ignore[attr-defined]
    if raw or instance.pk is None:
        return
    before = User.objects.filter(pk=instance.pk).values_list("password", "is_active").first()
    if before is None:
        return
    password, was_active = before
    new_password = password != instance.password and (
        getattr(instance, "_password", None) is not None or not instance.has_usable_password()
    )
    instance._revokes_sessions = new_password or (was_active and not instance.is_active)  # type: ignore[attr-defined]


@receiver(post_save, sender=User)
def revoke_sessions(sender: Any, instance: User, created: bool, **_: Any) -> None:
    """End every session of the user, in the transaction of the change: bump the version that
    every token carries (so a token minted from a row read before the change, even during it,
    is refused), and blacklist the outstanding refresh tokens (so the tables agree)."""
    if created or not getattr(instance, "_revokes_sessions", False):
        return
    instance._revokes_sessions = False  # type: ignore[attr-defined]
    user_sessions_revoke(user=instance)


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def forget_the_kept_row(sender: Any, instance: User, **_: Any) -> None:
    """A user saved or deleted in this process is read again at its next request, whatever
    JWT_USER_CACHE_SECONDS says (other processes catch up within those seconds). Forgotten again
    at commit: until then another thread of this worker could read, and keep, the old row."""
    user_id = instance.pk
    recent_users.forget(user_id)
    transaction.on_commit(lambda: recent_users.forget(user_id))
