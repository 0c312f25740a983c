"""The one error shape of the API: {"code": ..., "message": ..., "fields": {...}}.

`code` is machine-readable and stable, `message` is for people, `fields` (only for invalid input)
maps each field to its messages.
"""

from http import HTTPStatus
from typing import Any

from django.http import JsonResponse

# Codes for errors raised outside DRF (Django, Nginx), by status.
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def error_body(*, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Build the error payload; `fields` appears only when given."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


def status_error_response(status: int) -> JsonResponse:
    """A JSON error response for a bare HTTP status (Django's own 404, 500, ...)."""
    code = STATUS_CODES.get(status, "client_error" if status < 500 else "server_error")
    return JsonResponse(error_body(code=code, message=HTTPStatus(status).phrase + "."), status=status)
