"""Writes on users and their tokens. Views and commands call these; nothing else touches the models."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.emails import (
    email_change_confirm_mail,
    email_change_taken_mail,
    email_change_token_read,
    email_changed_notice,
    password_reset_mail,
    reset_token_is_valid,
)
from accounts.models import User
from accounts.selectors import email_is_taken, user_get_by_email
from accounts.tokens import AUTH_TIME_CLAIM, SESSION_CLAIM, SessionRefreshToken, session_has_ended, token_refusal
from core.mail import outbox
from core.metrics import TOKEN_REUSE


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
    """Set a new password; saving it ends every session of the user (accounts/signals.py): every
    token minted before, access or refresh, is refused from the commit on."""
    user.set_password(new_password)
    user.save(update_fields=["password"])


def password_reset_request(*, email: str) -> None:
    """Mail a reset link to the active account with this address (compared case-insensitively),
    if there is one. Both cases do the same work here (one query, one job handed to the outbox)
    and return the same, so neither the answer nor its time tells whether the account exists;
    the mail itself is built and sent in the outbox's thread."""
    user = user_get_by_email(email=email)
    outbox.submit(lambda: [password_reset_mail(user)] if user is not None else [])


@transaction.atomic
def password_reset_complete(*, user_id: int, token: str, new_password: str) -> bool:
    """Set the new password if the token is (still) valid for the user; False otherwise.

    The row is locked while the token is checked and spent: two requests with one token cannot
    both pass. The new password ends every session of the user, as a password change does.
    """
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None or not reset_token_is_valid(user, token):
        return False
    user_password_change(user=user, new_password=new_password)
    return True


def email_change_request(*, user: User, new_email: str) -> None:
    """Mail a confirmation link to the new address; if another account has it, mail that address
    a notice instead. The caller's answer is the same either way."""
    taken = email_is_taken(email=new_email, exclude=user)
    outbox.submit(
        lambda: [email_change_taken_mail(new_email)] if taken else [email_change_confirm_mail(user, new_email)]
    )


class EmailTakenError(Exception):
    """The new address belongs to another account (taken since the link was sent)."""


@transaction.atomic
def email_change_confirm(*, token: str) -> User | None:
    """Move the account to the address the token confirms and tell the old address; None for a
    token that is invalid, expired or already used. EmailTakenError if another account took the
    address meanwhile."""
    payload = email_change_token_read(token)
    if payload is None:
        return None
    user = User.objects.select_for_update().filter(pk=payload["u"], is_active=True).first()
    if user is None or user.email != payload["from"]:
        return None
    new_email = str(payload["to"])
    if email_is_taken(email=new_email, exclude=user):
        raise EmailTakenError
    old_email, user.email = user.email, new_email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:  # the unique constraint: taken in a race
        raise EmailTakenError from None
    if old_email:
        username = user.get_username()
        transaction.on_commit(lambda: outbox.submit(lambda: [email_changed_notice(username, old_email, new_email)]))
    return user


def user_sessions_revoke(*, user: User) -> int:
    """End every session of the user: bump the version every token carries, then blacklist the
    outstanding refresh tokens; return how many were blacklisted.

    The version is what makes it race-free: a sign-in or a refresh that read the row before this
    commits mints tokens with the old version, which every check refuses. Call it inside the
    transaction of the change (the signals do).
    """
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(revoked)


def refresh_token_rotate(*, raw_refresh: str) -> dict[str, str]:
    """Spend a refresh token once: return a new access + refresh pair of the same session, or
    raise a 401 error.

    - Spent at most once, whatever the timing: the blacklist row is inserted first and its
      one-to-one key is unique, so PostgreSQL lets exactly one insert commit (SimpleJWT checks,
      then inserts, so parallel requests with one token could all pass).
    - A token spent before (reused) revokes its whole session: either the user or a thief holds a
      copy, and the server cannot tell which (OAuth 2.0 Security BCP, refresh token rotation).
    - A token with no outstanding row is refused: every token this API issued has one until it
      is flushed, and the flush (flushexpiredtokens) deletes only rows past exp + leeway; a row
      is never recreated, so a spent token cannot come back once its row is gone.
    - The user's current state is checked (active, sessions version), and the new pair
      is minted from the same row: a password change that commits meanwhile refuses it too.
    - No refresh extends the session past JWT_SESSION_LIFETIME from the sign-in.
    """
    try:
        # Signature, type and expiry; the blacklist is checked below, by spending.
        token = SessionRefreshToken(raw_refresh)  # type: ignore[arg-type]  # SimpleJWT's hint says Token; it takes str
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    sid = token.get(SESSION_CLAIM)
    if not isinstance(sid, str) or session_has_ended(token):
        raise InvalidToken("The session has ended: sign in again.")
    outstanding = OutstandingToken.objects.filter(jti=token[api_settings.JTI_CLAIM]).first()
    if outstanding is None:
        raise InvalidToken("Token is not recognised")
    user = _active_user_for(token)
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        TOKEN_REUSE.inc()
        session_revoke(user=user, sid=sid)
        raise InvalidToken("Token is blacklisted") from None
    renewed = SessionRefreshToken.for_session(user, sid=sid, auth_time=token[AUTH_TIME_CLAIM])
    return {"access": str(renewed.access_token), "refresh": str(renewed)}


def session_revoke(*, user: User, sid: str) -> int:
    """Blacklist every outstanding refresh token of one session of the user; return how many.

    A user has one live refresh token per session (rotation blacklists the previous one), so
    this decodes a handful of the user's own stored tokens.
    """
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True, expires_at__gt=aware_utcnow())
    family = [row for row in live if _claims_of_stored(row.token).get(SESSION_CLAIM) == sid]
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=row) for row in family], ignore_conflicts=True
    )
    return len(revoked)


def _claims_of_stored(raw: str) -> dict[str, Any]:
    """The claims of a token this API issued and stored, read without checking it again."""
    claims: dict[str, Any] = token_backend.decode(raw, verify=False)  # type: ignore[arg-type]  # it takes str
    return claims


def _active_user_for(token: Token) -> User:
    """The token's user, if it still exists and may use this token; 401 otherwise (never a 500)."""
    user_id = token.get(api_settings.USER_ID_CLAIM)
    user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
    refusal = token_refusal(token, user, check_password=False)
    if refusal is not None:
        raise AuthenticationFailed(*refusal)
    return user
