"""Bearer-token authentication: SimpleJWT's, with a cheaper user lookup."""

from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from accounts.selectors import user_get_by_id


class JWTUserAuthentication(JWTAuthentication):
    """SimpleJWT's JWTAuthentication with the same checks, reading the user with one plain SELECT.

    Subclassed for speed only: the user row is still read on every request, so a deactivated
    user or a changed password refuses earlier access tokens at once (SimpleJWT's stateless
    variant would accept them until they expire).
    """

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
