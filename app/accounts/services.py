"""Writes on users and their tokens. Views and commands call these; nothing else touches the models."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User


def user_ensure(*, username: str, password: str) -> tuple[User, bool]:
    """Create the user, or reset its password and reactivate it; return it and whether it was created."""
    user, created = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.is_active = True
    user.save()
    return user, created


def user_register(*, username: str, email: str, password: str) -> User:
    """Create a regular, active user (the caller has validated the input)."""
    return User.objects.create_user(username=username, email=email, password=password)


def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Apply validated profile changes (names, email) to the user."""
    for field, value in data.items():
        setattr(user, field, value)
    user.save(update_fields=list(data))
    return user


@transaction.atomic
def user_password_change(*, user: User, new_password: str) -> None:
    """Set a new password; saving it revokes every refresh token issued before (accounts/signals.py).

    Access tokens carry a hash of the password (SIMPLE_JWT CHECK_REVOKE_TOKEN), so they stop
    working at once too.
    """
    user.set_password(new_password)
    user.save(update_fields=["password"])


def user_tokens_revoke(*, user: User) -> int:
    """Blacklist every outstanding refresh token of the user; return how many were revoked."""
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(revoked)


def refresh_token_rotate(*, raw_refresh: str) -> dict[str, str]:
    """Spend a refresh token once: return a new access + refresh pair, or raise a 401 error.

    SimpleJWT checks the blacklist and then inserts, so parallel requests with one token can all
    pass the check. Here the blacklist row is inserted first; its one-to-one key is unique, so
    PostgreSQL lets exactly one insert commit and the others fail.
    """
    try:
        # Signature, type, expiry, and the blacklist (fast path). SimpleJWT's hint says Token; it takes str.
        token = RefreshToken(raw_refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    user = _active_user_for(token)
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=token[api_settings.JTI_CLAIM],
        defaults={"user": user, "token": raw_refresh, "expires_at": datetime_from_epoch(token["exp"])},
    )
    try:
        BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        raise InvalidToken("Token is blacklisted") from None
    renewed = RefreshToken.for_user(user)
    return {"access": str(renewed.access_token), "refresh": str(renewed)}


def _active_user_for(token: RefreshToken) -> User:
    """The token's user, if it still exists and may sign in; 401 otherwise (never a 500)."""
    user_id = token.get(api_settings.USER_ID_CLAIM)
    user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
    return user
