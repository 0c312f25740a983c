from typing import cast

from django.conf import settings
from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from accounts.models import User
from accounts.serializers import (
    AcceptedSerializer,
    EmailChangeConfirmSerializer,
    EmailChangeSerializer,
    EmailSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
    RegisterSerializer,
)
from accounts.services import (
    EmailTakenError,
    email_change_confirm,
    email_change_request,
    password_reset_complete,
    password_reset_request,
    user_password_change,
    user_register,
    user_update,
)
from core.query import ApiView, QueryValidationMixin
from core.throttling import AccountEmailThrottle, AuthRateThrottle


class MeView(ApiView):
    """GET /api/me/: the user the access token belongs to; PATCH changes the names (the email
    address is accepted only unchanged: MeSerializer.validate; it changes at /api/me/email/)."""

    # Reads reuse one serializer: a new instance deep-copies its declared fields, which was a
    # sixth of GET /api/me/'s Python (make bench). Reading a user keeps no state on it.
    reader = MeSerializer()

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.reader.to_representation(request.user))

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request: Request) -> Response:
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = user_update(user=cast(User, request.user), data=serializer.validated_data)
        return Response(MeSerializer(user).data)


class RegisterView(ApiView):
    """POST /api/auth/register/: create an account (REGISTRATION_ENABLED switches it off)."""

    error_statuses = (403,)  # registration closed
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=RegisterSerializer, responses={201: RegisterSerializer})
    def post(self, request: Request) -> Response:
        if not settings.REGISTRATION_ENABLED:
            raise PermissionDenied("Registration is closed.", code="registration_closed")
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            user = user_register(username=data["username"], email=data["email"], password=data["password"])
        except IntegrityError:  # a concurrent registration took the name or email
            raise ValidationError({"username": ["A user with that username or email already exists."]}) from None
        return Response(RegisterSerializer(user).data, status=status.HTTP_201_CREATED)


class PasswordChangeView(ApiView):
    """POST /api/auth/password/: change the password; every refresh token issued before is revoked."""

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user_password_change(user=cast(User, request.user), new_password=serializer.validated_data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def accounts_by_email() -> None:
    """The password reset and email change endpoints answer 404 with ACCOUNT_EMAILS_ENABLED=0."""
    if not settings.ACCOUNT_EMAILS_ENABLED:
        raise NotFound()


class PasswordResetRequestView(ApiView):
    """POST /api/auth/password/reset/: mail a reset link to the account with this address.

    The same 202, the same body, and the same work before answering, whether or not an account
    has the address; throttled per client and per address (ACCOUNT_EMAIL_THROTTLE_RATE).
    """

    error_statuses = (404,)  # ACCOUNT_EMAILS_ENABLED=0

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle, AccountEmailThrottle]

    @extend_schema(request=PasswordResetRequestSerializer, responses={202: AcceptedSerializer})
    def post(self, request: Request) -> Response:
        accounts_by_email()
        serializer = PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_request(email=serializer.validated_data["email"])
        return Response({"message": "If an account has this address, a reset link is on its way."}, status=202)


class PasswordResetConfirmView(ApiView):
    """POST /api/auth/password/reset/confirm/: set a new password with the mailed token.

    The token works once and expires (PASSWORD_RESET_TIMEOUT); the new password ends every
    session of the account, as a password change does.
    """

    error_statuses = (404,)  # ACCOUNT_EMAILS_ENABLED=0

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(request=PasswordResetConfirmSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        accounts_by_email()
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not password_reset_complete(user_id=data["user_id"], token=data["token"], new_password=data["new_password"]):
            # Spent by a concurrent request between the check and the lock.
            raise ValidationError({"token": [PasswordResetConfirmSerializer.INVALID]})
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailChangeView(ApiView):
    """POST /api/me/email/: ask to move the account to a new address (with the password).

    The new address gets a confirmation link, and the address changes only when it is used; the
    answer is the same 202 whether or not another account has the new address (that one gets a
    notice instead). Throttled per client and per new address.
    """

    error_statuses = (404,)  # ACCOUNT_EMAILS_ENABLED=0

    throttle_classes = [AuthRateThrottle, AccountEmailThrottle]
    throttle_address_field = "new_email"

    @extend_schema(request=EmailChangeSerializer, responses={202: AcceptedSerializer})
    def post(self, request: Request) -> Response:
        accounts_by_email()
        serializer = EmailChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        email_change_request(user=cast(User, request.user), new_email=serializer.validated_data["new_email"])
        return Response({"message": "A confirmation link is on its way to the new address."}, status=202)


class EmailChangeConfirmView(ApiView):
    """POST /api/auth/email/confirm/: the mailed token moves the account to its new address and
    tells the old one. Needs no sign-in: the token proves both the request and the mailbox."""

    error_statuses = (404,)  # ACCOUNT_EMAILS_ENABLED=0

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(request=EmailChangeConfirmSerializer, responses={200: EmailSerializer})
    def post(self, request: Request) -> Response:
        accounts_by_email()
        serializer = EmailChangeConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = email_change_confirm(token=serializer.validated_data["token"])
        except EmailTakenError:
            raise ValidationError({"token": ["This address now belongs to another account."]}) from None
        if user is None:
            raise ValidationError({"token": ["This confirmation link is invalid, used or expired."]})
        return Response({"email": user.email})


# SimpleJWT's views as shipped (their serializers are set in SIMPLE_JWT), with the query string
# validated like every API view's; each refuses bad credentials or tokens with a 401.
class TokenObtainView(QueryValidationMixin, TokenObtainPairView):
    """POST /api/token/: sign in with username and password; a new session's token pair."""

    error_statuses = (401,)


class TokenRefreshRotateView(QueryValidationMixin, TokenRefreshView):
    """POST /api/token/refresh/: spend a refresh token for a new pair of the same session."""

    error_statuses = (401,)


class TokenCheckView(QueryValidationMixin, TokenVerifyView):
    """POST /api/token/verify/: 200 for a token the API would accept now, else 401."""

    error_statuses = (401,)


class TokenRevokeView(QueryValidationMixin, TokenBlacklistView):
    """POST /api/token/blacklist/: sign out (the refresh token is spent)."""

    error_statuses = (401,)
