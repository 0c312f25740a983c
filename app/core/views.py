from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from core.query import ApiView
from core.selectors import database_is_available

# "version": the build that answered (settings.APP_VERSION), as in the X-App-Version header.
HEALTH_SCHEMA = inline_serializer(
    "Health",
    fields={"status": serializers.CharField(), "database": serializers.CharField(), "version": serializers.CharField()},
)
LIVE_SCHEMA = inline_serializer(
    "Liveness", fields={"status": serializers.CharField(), "version": serializers.CharField()}
)


class LiveView(ApiView):
    """GET /api/health/live/: 200 while the process answers requests; never touches the database.

    For the container healthcheck and any orchestrator that restarts what is unhealthy: a
    database outage is not fixed by restarting web, and a check that queried the database would
    have every web replica killed during a short database restart. /api/health/ is the readiness
    check (the database too), for load balancers and monitoring.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses={(200, "application/json"): LIVE_SCHEMA})
    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "version": settings.APP_VERSION})


class HealthView(ApiView):
    """GET /api/health/: readiness: 200 when the app and its database answer, 503 otherwise."""

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
            return Response({"status": "ok", "database": "ok", "version": settings.APP_VERSION})
        return Response(
            {"status": "unavailable", "database": "unavailable", "version": settings.APP_VERSION},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )


class CachedSchemaView(SpectacularAPIView):
    """GET /api/schema/: the OpenAPI schema, built once per worker process and then served as bytes.

    Built on each request it cost ~42 ms of CPU (against ~1 ms for /api/health/), anonymous and
    unthrottled: a cheap lever to exhaust the CPU. The schema changes only with the code, so a
    worker keeps each rendering (YAML, JSON) it has served. The `lang` parameter is not honoured
    (a rendering per language would be the same lever). API_DOCS_PUBLIC=0 turns it into a 404.
    """

    rendered: ClassVar[dict[str, tuple[bytes, str, str]]] = {}

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_PUBLIC:
            raise NotFound()
        renderer = request.accepted_renderer
        media_type = renderer.media_type
        kept = self.rendered.get(media_type)
        if kept is None:
            response = self._get_schema_response(request)  # type: ignore[no-untyped-call]
            rendered = renderer.render(response.data, media_type, self.get_renderer_context())
            content = rendered.encode() if isinstance(rendered, str) else rendered
            charset = f"; charset={renderer.charset}" if renderer.charset else ""
            kept = (content, media_type + charset, str(response["Content-Disposition"]))
            self.rendered[media_type] = kept  # a race only builds it twice
        content, content_type, disposition = kept
        return HttpResponse(content, content_type=content_type, headers={"Content-Disposition": disposition})


class SwaggerUIView(SpectacularSwaggerSplitView):
    """GET /api/docs/: Swagger UI over /api/schema/; a 404 with API_DOCS_PUBLIC=0."""

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_PUBLIC:
            raise NotFound()
        response: HttpResponse = super().get(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        return response
