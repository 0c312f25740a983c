from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import UntypedToken

from accounts.emails import reset_token_is_valid, reset_token_user_id
from accounts.models import User
from accounts.selectors import email_is_taken, user_from_row, user_row_get_by_id
from accounts.services import refresh_token_rotate
from accounts.tokens import SessionRefreshToken, token_refusal
from core.fields import StrictCharField, StrictEmailField, StrictModelSerializer


class MeSerializer(serializers.Serializer):
    """The signed-in user as the API shows it; names can be changed.

    Fields are declared, not derived from the model: a ModelSerializer rebuilds them from the
    model on every request, which was a fifth of /api/me/'s time in Python (make bench).
    """

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    # Shown, not changed here: POST /api/me/email/ changes it once the new address confirms
    # (validate() refuses another one, rather than ignoring it).
    email = serializers.EmailField(read_only=True, allow_blank=True)
    first_name = StrictCharField(max_length=150, allow_blank=True, required=False)
    last_name = StrictCharField(max_length=150, allow_blank=True, required=False)
    date_joined = serializers.DateTimeField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A client sending back the whole profile passes its own address unchanged (in any case);
        another address is refused: changing it here would skip the confirmation, and the answer
        would tell whether an address is registered (an oracle for a leaked list)."""
        sent = self.initial_data.get("email") if isinstance(self.initial_data, dict) else None
        current = getattr(self.instance, "email", "")
        if sent is not None and (not isinstance(sent, str) or sent.casefold() != current.casefold()):
            raise serializers.ValidationError(
                {"email": ["The email address is changed at /api/me/email/, once the new address confirms."]},
                code="email_change_needs_confirmation",
            )
        return attrs


class RegisterSerializer(StrictModelSerializer):
    """A new account: username, email and a password that passes Django's validators."""

    email = StrictEmailField(required=True, allow_blank=False, max_length=254)
    password = StrictCharField(
        write_only=True, trim_whitespace=False, max_length=4096, style={"input_type": "password"}
    )

    class Meta:
        model = User
        fields = ["id", "username", "email", "password"]
        read_only_fields = ["id"]

    def validate_email(self, value: str) -> str:
        if email_is_taken(email=value):
            raise serializers.ValidationError("A user with this email already exists.")
        return value

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class PasswordChangeSerializer(serializers.Serializer):
    old_password = StrictCharField(write_only=True, trim_whitespace=False, max_length=4096)
    new_password = StrictCharField(write_only=True, trim_whitespace=False, max_length=4096)

    def validate_old_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("The current password is not correct.")
        return value

    def validate_new_password(self, value: str) -> str:
        password_validation.validate_password(value, user=self.context["request"].user)
        return value


class RotatingTokenRefreshSerializer(TokenRefreshSerializer):
    """SimpleJWT's refresh serializer, made race-free and 401 (not 500) for deleted users.

    Subclassed because the shipped one checks the blacklist before inserting into it (parallel
    reuse of one token succeeds several times) and lets User.DoesNotExist escape (a 500).
    """

    refresh = StrictCharField(write_only=True)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        return refresh_token_rotate(raw_refresh=attrs["refresh"])


class SessionTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Sign-in: a pair that starts a new session (accounts/tokens.py), minted from the row the
    password was checked against."""

    token_class = SessionRefreshToken

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Strings as sent, like every field of the API (core/fields.py): a username of spaces is
        # a wrong credential (401), not a blank field.
        self.fields[self.username_field] = StrictCharField(write_only=True, max_length=4096)
        self.fields["password"] = StrictCharField(write_only=True, max_length=4096, style={"input_type": "password"})


class StrictTokenBlacklistSerializer(TokenBlacklistSerializer):
    """Sign-out: SimpleJWT's, with the token taken as sent (core/fields.py)."""

    refresh = StrictCharField(write_only=True)


class UserCheckingTokenVerifySerializer(TokenVerifySerializer):
    """/api/token/verify/: 200 only for a token the API itself would accept now.

    SimpleJWT's checks the signature, expiry and blacklist only, so it said 200 for the token of
    a deactivated user or of a password since changed, which every other endpoint refuses.
    """

    token = StrictCharField(write_only=True)

    def validate(self, attrs: dict[str, None]) -> dict[str, object]:
        token = UntypedToken(attrs["token"])  # signature and expiry
        if BlacklistedToken.objects.filter(token__jti=token.get(api_settings.JTI_CLAIM)).exists():
            raise InvalidToken("Token is blacklisted")  # a 401 like every refusal (SimpleJWT's: a 400)
        row = user_row_get_by_id(user_id=token.get(api_settings.USER_ID_CLAIM, ""))
        if row is None:
            raise InvalidToken("User not found")
        refusal = token_refusal(token, user_from_row(row))
        if refusal is not None:
            raise InvalidToken(refusal[0])
        return {}


class PasswordResetRequestSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    """The token from the reset mail and the new password, which must pass Django's validators."""

    token = StrictCharField(max_length=200, help_text="The code from the reset mail (or its link).")
    new_password = StrictCharField(write_only=True, trim_whitespace=False, max_length=4096)

    INVALID = "This reset link is invalid, used or expired: ask for a new one."

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user_id = reset_token_user_id(attrs["token"])
        user = User.objects.filter(pk=user_id, is_active=True).first() if user_id is not None else None
        if user is None or not reset_token_is_valid(user, attrs["token"]):
            raise serializers.ValidationError({"token": [self.INVALID]}, code="invalid_token")
        try:
            password_validation.validate_password(attrs["new_password"], user=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"new_password": list(exc.messages)}) from exc
        attrs["user_id"] = user.pk
        return attrs


class EmailChangeSerializer(serializers.Serializer):
    """A new address for the signed-in user, with the current password (a stolen access token
    alone must not move the account, and its reset mails, elsewhere)."""

    new_email = StrictEmailField(max_length=254)
    password = StrictCharField(write_only=True, trim_whitespace=False, max_length=4096)

    def validate_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("The current password is not correct.")
        return value

    def validate_new_email(self, value: str) -> str:
        if value.casefold() == self.context["request"].user.email.casefold():
            raise serializers.ValidationError("This is already your address.")
        return value


class EmailChangeConfirmSerializer(serializers.Serializer):
    token = StrictCharField(max_length=1000, help_text="The code from the confirmation mail (or its link).")


class AcceptedSerializer(serializers.Serializer):
    """202: the request is taken; what follows arrives by mail."""

    message = serializers.CharField()


class EmailSerializer(serializers.Serializer):
    email = serializers.EmailField()
