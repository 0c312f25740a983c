"""The account mails: their tokens and their text. Built in the outbox's sender thread
(core/mail.py) from the user object the request read, so they touch no database.

- Password reset: Django's PasswordResetTokenGenerator, an HMAC (SECRET_KEY) over the user's id,
  password hash, last sign-in and email, and the time it was made. It stops working once used
  (the new password changes the hash), after PASSWORD_RESET_TIMEOUT, and when the email changes.
  It is checked in constant time.
- Email change: the user's id, the current and the new address, signed with a timestamp (Django's
  signing, SECRET_KEY, its own salt). It stops working once used (the current address is then
  another), after PASSWORD_RESET_TIMEOUT, or when the address changes otherwise.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import EmailMessage
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User

EMAIL_CHANGE_SALT = "accounts.email-change"


def reset_token_make(user: User) -> str:
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"


def reset_token_user_id(token: str) -> int | None:
    """The user id a reset token names (not yet checked), or None for a malformed token."""
    uid, _, _ = token.partition(".")
    try:
        return int(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def reset_token_is_valid(user: User, token: str) -> bool:
    _, _, secret = token.partition(".")
    return default_token_generator.check_token(user, secret)


def email_change_token_make(user: User, new_email: str) -> str:
    return signing.dumps({"u": user.pk, "from": user.email, "to": new_email}, salt=EMAIL_CHANGE_SALT)


def email_change_token_read(token: str) -> dict[str, Any] | None:
    """The request a token carries, if its signature holds and it is not older than PASSWORD_RESET_TIMEOUT."""
    try:
        payload = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(payload, dict) or not {"u", "from", "to"} <= payload.keys():
        return None
    return payload


def _link(template: str, token: str, endpoint: str) -> str:
    if template:
        return "Open this link:\n\n    " + template.replace("{token}", token)
    return f"Your code (POST it to {endpoint} as `token`):\n\n    {token}"


def _lifetime() -> str:
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    return f"{minutes} minutes" if minutes else f"{settings.PASSWORD_RESET_TIMEOUT} seconds"


def password_reset_mail(user: User) -> EmailMessage:
    token = reset_token_make(user)
    body = (
        f"Someone asked to reset the password of the account {user.get_username()!r}.\n\n"
        f"{_link(settings.PASSWORD_RESET_URL, token, '/api/auth/password/reset/confirm/')}\n\n"
        f"It works once, for {_lifetime()}, and signs out every session of the account.\n"
        "If you did not ask for this, ignore this mail: your password is unchanged.\n"
    )
    return EmailMessage("Reset your password", body, to=[user.email])


def email_change_confirm_mail(user: User, new_email: str) -> EmailMessage:
    token = email_change_token_make(user, new_email)
    body = (
        f"The account {user.get_username()!r} asked to use this address from now on.\n\n"
        f"{_link(settings.EMAIL_CHANGE_URL, token, '/api/auth/email/confirm/')}\n\n"
        f"It works once, for {_lifetime()}. If you did not ask for this, ignore this mail.\n"
    )
    return EmailMessage("Confirm your new email address", body, to=[new_email])


def email_change_taken_mail(new_email: str) -> EmailMessage:
    """To an address that already has an account: the requester learns nothing from the answer,
    and the owner of the address learns that someone tried."""
    body = (
        "Someone asked to move another account to this address, which already has an account, so\n"
        "nothing was changed. If that was you, sign in with this address's account instead, or\n"
        "reset its password. Otherwise, ignore this mail.\n"
    )
    return EmailMessage("Your email address was not changed", body, to=[new_email])


def email_changed_notice(username: str, old_email: str, new_email: str) -> EmailMessage:
    body = (
        f"The email address of the account {username!r} is now {new_email}; mail no longer comes here.\n"
        "If you did not make this change, reset the password of the account at once and contact support.\n"
    )
    return EmailMessage("Your email address was changed", body, to=[old_email])
