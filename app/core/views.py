from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.selectors import database_is_available

HEALTH_SCHEMA = inline_serializer(
    "Health", fields={"status": serializers.CharField(), "database": serializers.CharField()}
)


class HealthView(APIView):
    """GET /api/health/: 200 when the app and its database answer, 503 otherwise."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            (200, "application/json"): HEALTH_SCHEMA,
            (503, "application/json"): HEALTH_SCHEMA,
        }
    )
    def get(self, request: Request) -> Response:
        if database_is_available():
            return Response({"status": "ok", "database": "ok"})
        return Response(
            {"status": "unavailable", "database": "unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
