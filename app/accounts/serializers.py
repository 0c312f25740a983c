from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from accounts.models import User
from accounts.selectors import email_is_taken
from accounts.services import refresh_token_rotate


class MeSerializer(serializers.Serializer):
    """The signed-in user as the API shows it; names and email can be changed.

    Fields are declared, not derived from the model: a ModelSerializer rebuilds them from the
    model on every request, which was a fifth of /api/me/'s time in Python (make bench).
    """

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    date_joined = serializers.DateTimeField(read_only=True)

    def validate_email(self, value: str) -> str:
        if value and email_is_taken(email=value, exclude=self.instance):
            raise serializers.ValidationError("A user with this email already exists.")
        return value


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
