from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import MeSerializer


class MeView(APIView):
    """GET /api/me/: the user the access token belongs to."""

    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
