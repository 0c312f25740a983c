"""The OpenAPI schema's view of each operation: its query parameters and every error it can return.

drf-spectacular documents the success responses it sees in the code. The errors come from
layers it does not see (authentication, throttles, the query validation, Nginx), so this adds
them from the same facts those layers act on: one `Error` component and one response component
per status (core/errors.py), referenced by each operation that can return it.
"""

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny

from core.errors import ERROR_RESPONSES, openapi_components
from core.throttling import AuthRateThrottle, WriteRateThrottle

# Every operation: a query string it does not document (400), an Accept header that is not JSON
# (406), and the outage answers of Nginx and the app (502, 503, 504).
ALWAYS = (400, 406, 502, 503, 504)
# A string without NUL (JSON Schema's regex dialect: ECMA-262).
NO_NUL = "^[^\\u0000]*$"
# Nginx's per-address limit on these paths (nginx/templates/default.conf.template): a 429.
NGINX_LIMITED_PREFIXES = ("/api/token/", "/api/auth/")


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the view's query serializers and its error responses.

    A view may add statuses only it knows of with `error_statuses` (e.g. 403 for registration
    closed, 401 for a wrong password on an endpoint that needs no token).
    """

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)  # type: ignore[no-untyped-call]
        # DRF refuses NUL in every CharField (PostgreSQL cannot store it in text): say so, unless
        # the field has a pattern of its own (which then excludes NUL itself).
        if (
            isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and "pattern" not in schema
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            schema["pattern"] = NO_NUL
        return schema

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        query = getattr(self.view, "query_parameters", {}).get(self.method)
        if query is not None:
            parameters.append(query)
        return parameters

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in sorted(self.error_statuses(operation)):
            responses.setdefault(str(status), {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"})
        return operation

    def error_statuses(self, operation: dict[str, Any]) -> set[int]:
        statuses = set(ALWAYS) | set(getattr(self.view, "error_statuses", ()))
        if self.requires_token():
            statuses.add(401)
        if "{" in self.path or self.is_paginated():
            statuses.add(404)  # no such object (or another user's), or a page past the last
        if "requestBody" in operation:
            statuses |= {413, 415}
        throttles = {type(throttle) for throttle in self.view.get_throttles()}
        if AuthRateThrottle in throttles or self.path.startswith(NGINX_LIMITED_PREFIXES):
            statuses.add(429)
        if WriteRateThrottle in throttles and self.method not in SAFE_METHODS and self.requires_token():
            statuses.add(429)
        return statuses

    def requires_token(self) -> bool:
        if not self.view.get_authenticators():
            return False
        return not any(isinstance(permission, AllowAny) for permission in self.view.get_permissions())

    def is_paginated(self) -> bool:
        query = getattr(self.view, "query_parameters", {}).get(self.method)
        return query is not None and "page" in query().fields


# OpenAPI links: how the output of one operation feeds the next, so that a client generator, and
# schemathesis' stateful phase, follow an account's life: register -> sign in -> refresh -> sign
# out, and a note's: create -> read, change, delete. (operation id, status) -> links.
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("auth_register_create", "201"): {
        "SignIn": {
            "operationId": "token_create",
            "requestBody": {"username": "$response.body#/username", "password": "$request.body#/password"},
            "description": "Sign in as the new account.",
        },
    },
    ("token_create", "200"): {
        "Refresh": {"operationId": "token_refresh_create", "requestBody": {"refresh": "$response.body#/refresh"}},
        "Verify": {"operationId": "token_verify_create", "requestBody": {"token": "$response.body#/access"}},
        "SignOut": {"operationId": "token_blacklist_create", "requestBody": {"refresh": "$response.body#/refresh"}},
    },
    ("token_refresh_create", "200"): {
        "RefreshAgain": {"operationId": "token_refresh_create", "requestBody": {"refresh": "$response.body#/refresh"}},
        "SignOut": {"operationId": "token_blacklist_create", "requestBody": {"refresh": "$response.body#/refresh"}},
    },
    ("notes_create", "201"): {
        name: {"operationId": operation, "parameters": {"note_id": "$response.body#/id"}}
        for name, operation in [
            ("Read", "notes_retrieve"),
            ("Replace", "notes_update"),
            ("Change", "notes_partial_update"),
            ("Delete", "notes_destroy"),
        ]
    },
}


def _blank_or_formatted(node: Any) -> None:
    """drf-spectacular describes a blank-able formatted string as oneOf [the format, ""]: "" is
    valid under both when the format allows it (a pattern, a maxLength alone), which oneOf
    forbids, so a blank value failed validation against its own schema. anyOf says what is meant."""
    if isinstance(node, dict):
        options = node.get("oneOf")
        if isinstance(options, list) and {"type": "string", "maxLength": 0} in options:
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _blank_or_formatted(value)
    elif isinstance(node, list):
        for value in node:
            _blank_or_formatted(value)


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the components the error responses name, and LINKS."""
    _blank_or_formatted(result)
    components = result.setdefault("components", {})
    extra = openapi_components()
    components.setdefault("schemas", {}).update(extra["schemas"])
    components["responses"] = extra["responses"]
    operations = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (operation_id, status), links in LINKS.items():
        # An app removed from the project takes its links with it (tests/app/config/test_openapi.py
        # checks that every one resolves here).
        response = operations.get(operation_id, {}).get("responses", {}).get(status)
        targets = {name: link for name, link in links.items() if link["operationId"] in operations}
        if response is not None and targets:
            response["links"] = targets
    return result
