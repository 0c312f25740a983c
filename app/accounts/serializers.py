from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import UntypedToken

from accounts.models import User
from accounts.selectors import email_is_taken, user_from_row, user_row_get_by_id
from accounts.services import refresh_token_rotate
from accounts.tokens import SessionRefreshToken, token_refusal


class MeSerializer(serializers.Serializer):
    """The signed-in user as the API shows it; names can be changed.

    Fields are declared, not derived from the model: a ModelSerializer rebuilds them from the
    model on every request, which was a fifth of /api/me/'s time in Python (make bench).
    """

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    # Shown, and accepted only unchanged (validate_email).
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    date_joined = serializers.DateTimeField(read_only=True)

    def validate_email(self, value: str) -> str:
        """The email address is not changed here: the answer would tell anyone whether an address
        is registered (an oracle for a leaked list), and an address must confirm first. The user's
        own address, in any case, passes unchanged (a client sending back the whole profile)."""
        current = getattr(self.instance, "email", "")
        if value.casefold() != current.casefold():
            raise serializers.ValidationError(
                "The email address cannot be changed here: a new address must be confirmed first.",
                code="email_change_needs_confirmation",
            )
        return current


class RegisterSerializer(serializers.ModelSerializer):
    """A new account: username, email and a password that passes Django's validators."""

    email = serializers.EmailField(required=True, allow_blank=False)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})

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
    old_password = serializers.CharField(write_only=True, trim_whitespace=False)
    new_password = serializers.CharField(write_only=True, trim_whitespace=False)

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

    refresh = serializers.CharField(write_only=True)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        return refresh_token_rotate(raw_refresh=attrs["refresh"])


class SessionTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Sign-in: a pair that starts a new session (accounts/tokens.py), minted from the row the
    password was checked against."""

    token_class = SessionRefreshToken


class UserCheckingTokenVerifySerializer(TokenVerifySerializer):
    """/api/token/verify/: 200 only for a token the API itself would accept now.

    SimpleJWT's checks the signature, expiry and blacklist only, so it said 200 for the token of
    a deactivated user or of a password since changed, which every other endpoint refuses.
    """

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
