from typing import cast

from django.conf import settings
from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.serializers import MeSerializer, PasswordChangeSerializer, RegisterSerializer
from accounts.services import user_password_change, user_register, user_update


class MeView(APIView):
    """GET /api/me/: the user the access token belongs to; PATCH changes the names (the email
    address is accepted only unchanged: MeSerializer.validate_email)."""

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


class RegisterView(APIView):
    """POST /api/auth/register/: create an account (REGISTRATION_ENABLED switches it off)."""

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


class PasswordChangeView(APIView):
    """POST /api/auth/password/: change the password; every refresh token issued before is revoked."""

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user_password_change(user=cast(User, request.user), new_password=serializer.validated_data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
