"""The API's tokens: SimpleJWT's, tied to the user's sessions version and to one sign-in.

Every token (access and refresh) carries:
- `ver`, the user's `token_version` when it was minted. A password change (however it is made:
  the API, the admin, `changepassword`, "password-based authentication: disabled") and a
  deactivation bump the version, so every token minted before, or minted during the change from
  a row read before it, is refused on access, on refresh and by /api/token/verify/: revocation
  does not depend on listing tokens, so nothing can slip between a listing and a sign-in.
- `sid`, the sign-in (session) it belongs to, kept by every refresh: spending a refresh token
  twice revokes that whole session, since either the user or a thief holds a copy.
- `auth_time`, when the user signed in: no refresh extends a session past
  JWT_SESSION_LIFETIME from it.
"""

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token
from rest_framework_simplejwt.utils import (
    aware_utcnow,
    datetime_from_epoch,
    datetime_to_epoch,
    get_md5_hash_password,
)

from accounts.models import User

VERSION_CLAIM = "ver"
SESSION_CLAIM = "sid"
AUTH_TIME_CLAIM = "auth_time"


class SessionRefreshToken(RefreshToken):
    """A refresh token of one session. Its blacklist is checked where it is spent
    (accounts.services.refresh_token_rotate), in the same statement that spends it."""

    def verify(self, *args: Any, **kwargs: Any) -> None:
        # Signature and expiry were checked while decoding; this checks exp again (with leeway),
        # the jti and the type, and skips BlacklistMixin's separate, racy blacklist query.
        Token.verify(self)

    @classmethod
    def for_user(cls, user: User) -> "SessionRefreshToken":  # type: ignore[override]
        """The first refresh token of a new session (a sign-in)."""
        return cls.for_session(user, sid=uuid.uuid4().hex, auth_time=datetime_to_epoch(aware_utcnow()))

    @classmethod
    def for_session(cls, user: User, *, sid: str, auth_time: int) -> "SessionRefreshToken":
        """A refresh token for `user` in session `sid`, recorded as outstanding.

        Its claims come from this `user` object, as read by the caller: a token minted from a row
        read before a password change carries the old version and is refused everywhere.
        """
        token = cls()
        token[api_settings.USER_ID_CLAIM] = str(getattr(user, api_settings.USER_ID_FIELD))
        token[api_settings.REVOKE_TOKEN_CLAIM] = get_md5_hash_password(user.password)
        token[VERSION_CLAIM] = user.token_version
        token[SESSION_CLAIM] = sid
        token[AUTH_TIME_CLAIM] = auth_time
        session_end = datetime_from_epoch(auth_time) + timedelta(seconds=settings.JWT_SESSION_LIFETIME)
        if session_end < token.current_time + cls.lifetime:
            token.set_exp(from_time=session_end, lifetime=timedelta(0))
        OutstandingToken.objects.create(
            user=user,
            jti=token[api_settings.JTI_CLAIM],
            token=str(token),
            created_at=token.current_time,
            expires_at=datetime_from_epoch(token["exp"]),
        )
        return token

    @property
    def access_token(self) -> AccessToken:
        """The access token of the pair: the same claims, never outliving its session."""
        access = super().access_token
        if access["exp"] > self["exp"]:
            access["exp"] = self["exp"]
        return access


def session_has_ended(token: Token) -> bool:
    """True when the token's session is older than JWT_SESSION_LIFETIME."""
    auth_time = token.get(AUTH_TIME_CLAIM)
    if not isinstance(auth_time, int):
        return True
    return datetime_to_epoch(token.current_time) >= auth_time + settings.JWT_SESSION_LIFETIME


def token_refusal(token: Token, user: User, *, check_password: bool = True) -> tuple[str, str] | None:
    """Why `user` may not use `token` (a message and a code), or None when it may.

    The checks of SimpleJWT's JWTAuthentication (active user, and the fingerprint of the password
    hash when `check_password`), then the sessions version. Applied on every request and by
    /api/token/verify/; a refresh skips the fingerprint (Django's re-hash at sign-in changes the
    hash, not the password, and must not end the user's other sessions) and relies on the
    version, which every real password change bumps.
    """
    if not user.is_active:
        return "User is inactive", "user_inactive"
    if check_password and token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        return "The user's password has been changed.", "password_changed"
    if token.get(VERSION_CLAIM) != user.token_version:
        return "The user's sessions have been revoked.", "sessions_revoked"
    return None
