import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from core.errors import status_error_response
from core.logging import request_id
from core.sentry import report_exception

logger = logging.getLogger("django.request")

API_PREFIX = "/api/"
# Headers of the original error response that the client still needs.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "Vary")
# The database is down or unreachable (refused, restarting, out of connection slots): a 503.
DATABASE_DOWN = (OperationalError, InterfaceError)
# Exceptions Django turns into a 4xx response itself; the response is reshaped in __call__.
CLIENT_ERRORS = (Http404, PermissionDenied, SuspiciousOperation, BadRequest)


class ApiJsonErrorsMiddleware:
    """Every error under /api/ leaves as JSON in the API's error shape: no HTML, no stack trace.

    DRF views already answer so; this covers what happens outside them (an unknown URL, a bad
    Host, an uncaught exception), whatever DEBUG says.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            json_response = status_error_response(response.status_code)
            for header in KEPT_HEADERS:
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX) or isinstance(exception, CLIENT_ERRORS):
            return None
        if isinstance(exception, DATABASE_DOWN):
            # An outage, not a bug: the client may retry, and the log says what is wrong.
            logger.error("Database unavailable: %s: %s", request.path, exception)
            response = status_error_response(503)
            response["Retry-After"] = "5"
            return response
        logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        # Answered here, so Django never signals it: error reporting must be told (core/sentry.py).
        report_exception(exception)
        return status_error_response(500)


class RequestIdMiddleware:
    """Tag the request's logs with its id (Nginx's X-Request-ID, or a new one) and return it."""

    # fullmatch: "$" also matches before a trailing newline, which let "id\n" through.
    VALID = re.compile(r"[A-Za-z0-9-]{8,64}")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        token = request_id.set(incoming if self.VALID.fullmatch(incoming) else uuid.uuid4().hex)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id.get()
            return response
        finally:
            request_id.reset(token)


class AppVersionMiddleware:
    """X-App-Version on every response: which build answered (a deploy's switch, seen by clients)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-App-Version"] = settings.APP_VERSION
        return response


class MethodNotAllowedMiddleware:
    """The 405s Nginx decides itself (TRACE, which it never passes on), answered with `Allow`.

    RFC 9110 requires a 405 to list the resource's methods, which only the app knows. Nginx sends
    such a request here as OPTIONS, the refused method in X-Method-Not-Allowed (a header Nginx
    drops from every client request: nginx/proxy.conf). This answers it with the 405 and the
    methods of the view the path resolves to, or a 404 for a path that is not routed. It never
    runs the view, whatever the header says.
    """

    HEADER = "HTTP_X_METHOD_NOT_ALLOWED"
    # Views that do not say which methods they take (function views, the admin's).
    FALLBACK = ["GET", "HEAD", "POST"]

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "OPTIONS" or not request.META.get(self.HEADER):
            return self.get_response(request)
        methods = allowed_methods(request.path_info)
        if methods is None:
            return status_error_response(404)
        response = status_error_response(405)
        response["Allow"] = ", ".join(methods)
        return response


def allowed_methods(path: str) -> list[str] | None:
    """The methods the view at `path` answers (as its own 405 would list them), or None when no
    view is routed there."""
    if path.startswith(settings.STATIC_URL):
        return ["GET", "HEAD"]
    try:
        func = resolve(path).func
    except Resolver404:
        return None
    drf_view = getattr(func, "cls", None)
    if drf_view is not None:
        methods = list(drf_view(**getattr(func, "initkwargs", {})).allowed_methods)
    elif getattr(func, "view_class", None) is not None:
        methods = [m.upper() for m in func.view_class(**func.view_initkwargs)._allowed_methods()]  # type: ignore[attr-defined]
    else:
        methods = list(MethodNotAllowedMiddleware.FALLBACK)
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")  # Django answers HEAD with GET's view
    return methods
