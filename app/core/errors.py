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


# The same shape as an OpenAPI component (`Error`), and one response component per status the
# API documents (core/schema.py adds them to each operation that can return them).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The API's one error shape: every error response of every operation, whichever layer produced it.",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable and stable, e.g. `invalid`, `not_authenticated`."},
        "message": {"type": "string", "description": "For people."},
        "fields": {
            "type": "object",
            "description": "Invalid input only: each field (or query parameter) and its messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message"],
}
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The input (body or query parameters) is not valid: `fields` says why."),
    401: ("Unauthorized", "No valid credentials: a missing, expired or revoked token, or a wrong password."),
    403: ("Forbidden", "Not allowed, whoever you are (e.g. registration closed)."),
    404: ("NotFound", "No such resource, or not yours."),
    406: ("NotAcceptable", "The Accept header asks for a type other than JSON."),
    413: ("PayloadTooLarge", "The body is over the size limit (Nginx's client_max_body_size)."),
    415: ("UnsupportedMediaType", "The body is not `application/json`."),
    429: ("TooManyRequests", "Throttled: retry after the `Retry-After` seconds."),
    502: ("BadGateway", "The application is not answering (restarting); retry shortly."),
    503: ("ServiceUnavailable", "The database is unavailable, or too many connections from this client."),
    504: ("GatewayTimeout", "The application took too long to answer."),
}
RETRY_AFTER_HEADER = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait before retrying."}}


def openapi_components() -> dict[str, Any]:
    """The `Error` schema and the error responses, for SPECTACULAR_SETTINGS["APPEND_COMPONENTS"]."""
    responses: dict[str, Any] = {}
    for status, (name, description) in ERROR_RESPONSES.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if status in (429, 503):
            response["headers"] = RETRY_AFTER_HEADER
        responses[name] = response
    return {"schemas": {"Error": ERROR_SCHEMA}, "responses": responses}
