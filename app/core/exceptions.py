"""DRF's exception handler, reshaped into the API's one error shape (core.errors)."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import error_body


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Let DRF pick the status and headers (WWW-Authenticate, Retry-After); replace the body.

    Django's Http404 (get_object_or_404, a failed lookup) and PermissionDenied become DRF's own
    exceptions first, as DRF's handler does internally: otherwise their body kept DRF's default
    shape, {"detail": "No Note matches the given query."}, naming the model to any client.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException):
        response.data = _body_for(exc)
    return response


def _body_for(exc: APIException) -> dict[str, Any]:
    detail = exc.detail
    if isinstance(exc, ValidationError):
        if isinstance(detail, dict):
            fields = {name: [str(m) for m in _as_list(messages)] for name, messages in detail.items()}
            general = fields.pop("non_field_errors", None)
            return error_body(
                code="invalid", message=general[0] if general else "The input is not valid.", fields=fields
            )
        return error_body(code="invalid", message=" ".join(str(m) for m in _as_list(detail)))
    if isinstance(detail, dict):  # SimpleJWT's InvalidToken: {"detail", "code", "messages"}
        return error_body(code=str(detail.get("code", exc.default_code)), message=str(detail.get("detail", "")))
    code = getattr(detail, "code", None) or exc.default_code
    return error_body(code=str(code), message=str(detail))


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):  # nested serializer errors: flatten to "field: message"
        return [f"{key}: {m}" for key, inner in value.items() for m in _as_list(inner)]
    return list(value) if isinstance(value, list) else [value]
