"""Bearer-token authentication: SimpleJWT's, with a cheaper user lookup and fewer signature checks."""

import threading
import time
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.models import User
from accounts.selectors import user_from_row, user_row_get_by_id
from accounts.tokens import token_refusal


class VerifiedTokens:
    """The access tokens this process has verified, by their exact bytes; the oldest go first.

    Decoding a token and checking its signature was ~15 % of GET /api/me/'s Python (make bench),
    and a client sends the same token for minutes. What a check proved about those bytes (the
    signature, the claims, the token type) stays true, except expiry: that is checked again on
    every use. Nothing about the user is kept here: JWTUserAuthentication.get_user reads the
    row on every request (unless JWT_USER_CACHE_SECONDS is set: RecentUsers). The requests that
    send one token share its object: treat `request.auth` as read-only.
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


class RecentUsers:
    """The user rows this process read for bearer tokens on reads (GET, HEAD, OPTIONS), each kept
    for JWT_USER_CACHE_SECONDS; off (every request reads the row) when that is 0, the default.

    The trade-off, opt-in: another worker's or replica's change to a user (deactivation, a new
    password, deletion) refuses the user's access tokens here up to that many seconds late,
    instead of at once. Never the other way round: a row kept here only ever lets a token
    through; when it would refuse one, the database is asked again and decides. A save() in this
    process forgets the user at once; a queryset update() does not. Writes (POST, PUT, PATCH,
    DELETE) always read the row. Each request gets its own User instance, built from the kept row.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: dict[str, tuple[float, tuple[Any, ...]]] = {}
        self.lock = threading.Lock()

    def get(self, user_id: object) -> tuple[Any, ...] | None:
        entry = self.rows.get(str(user_id))
        if entry is None:
            return None
        expires, row = entry
        if time.monotonic() >= expires:
            self.forget(user_id)
            return None
        return row

    def add(self, user_id: object, row: tuple[Any, ...], seconds: float) -> None:
        with self.lock:
            self.rows.pop(str(user_id), None)
            while len(self.rows) >= self.size:
                self.rows.pop(next(iter(self.rows)))
            self.rows[str(user_id)] = (time.monotonic() + seconds, row)

    def forget(self, user_id: object) -> None:
        with self.lock:
            self.rows.pop(str(user_id), None)


# A row is ~1 KB: at most ~4 MB per worker.
recent_users = RecentUsers(size=4096)


class JWTUserAuthentication(JWTAuthentication):
    """SimpleJWT's JWTAuthentication with the same checks, reading the user with one plain SELECT
    and verifying each token's signature once per worker process.

    By default the user row is read on every request, so a deactivated user or a changed
    password refuses earlier access tokens at once (SimpleJWT's stateless variant would accept
    them until they expire). JWT_USER_CACHE_SECONDS trades that for speed: see RecentUsers.
    """

    # Set per request by authenticate(): DRF builds a new authenticator for each request.
    reuse_seconds = 0

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        self.reuse_seconds = settings.JWT_USER_CACHE_SECONDS if request.method in SAFE_METHODS else 0
        return super().authenticate(request)  # type: ignore[return-value]

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
        if self.reuse_seconds:
            kept = recent_users.get(user_id)
            if kept is not None:
                try:
                    return self.checked_user(validated_token, kept)
                except AuthenticationFailed:
                    pass  # the row may be out of date: the database decides
        row = user_row_get_by_id(user_id=user_id)
        if row is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        user = self.checked_user(validated_token, row)
        if self.reuse_seconds:
            recent_users.add(user_id, row, self.reuse_seconds)
        return user

    @staticmethod
    def checked_user(validated_token: Token, row: tuple[Any, ...]) -> User:
        """The user of this row, if it may use this token: SimpleJWT's checks, in its order, and the
        sessions version (accounts/tokens.py)."""
        user = user_from_row(row)
        refusal = token_refusal(validated_token, user)
        if refusal is not None:
            raise AuthenticationFailed(*refusal)
        return user


class JWTUserAuthenticationScheme(SimpleJWTScheme):  # type: ignore[no-untyped-call]  # untyped library
    """The OpenAPI Bearer scheme, as drf-spectacular describes SimpleJWT's class."""

    target_class = "accounts.authentication.JWTUserAuthentication"
