"""Bearer-token authentication: SimpleJWT's, with a cheaper user lookup and fewer signature checks."""

import threading

from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

from accounts.models import User
from accounts.selectors import user_get_by_id


class VerifiedTokens:
    """The access tokens this process has verified, by their exact bytes; the oldest go first.

    Decoding a token and checking its signature was ~15 % of GET /api/me/'s Python (make bench),
    and a client sends the same token for minutes. What a check proved about those bytes (the
    signature, the claims, the token type) stays true, except expiry: that is checked again on
    every use. Nothing about the user is kept: JWTUserAuthentication.get_user still reads the
    row on every request. The requests that send one token share its object: treat
    `request.auth` as read-only.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.tokens: dict[bytes, Token] = {}
        self.lock = threading.Lock()

    def get(self, raw_token: bytes) -> Token | None:
        token = self.tokens.get(raw_token)
        if token is None:
            return None
        try:
            token.check_exp(current_time=aware_utcnow())
        except TokenError:
            with self.lock:
                self.tokens.pop(raw_token, None)
            return None
        return token

    def add(self, raw_token: bytes, token: Token) -> None:
        with self.lock:
            while len(self.tokens) >= self.size:
                self.tokens.pop(next(iter(self.tokens)))
            self.tokens[raw_token] = token


# ~1.5 KB each (measured with tracemalloc): at most ~6 MB per worker.
verified_tokens = VerifiedTokens(size=4096)


class JWTUserAuthentication(JWTAuthentication):
    """SimpleJWT's JWTAuthentication with the same checks, reading the user with one plain SELECT
    and verifying each token's signature once per worker process.

    Subclassed for speed only: the user row is still read on every request, so a deactivated
    user or a changed password refuses earlier access tokens at once (SimpleJWT's stateless
    variant would accept them until they expire).
    """

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = verified_tokens.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)
            verified_tokens.add(raw_token, token)
        return token

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]  # our User, not the TypeVar
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = user_get_by_id(user_id=user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class JWTUserAuthenticationScheme(SimpleJWTScheme):  # type: ignore[no-untyped-call]  # untyped library
    """The OpenAPI Bearer scheme, as drf-spectacular describes SimpleJWT's class."""

    target_class = "accounts.authentication.JWTUserAuthentication"
