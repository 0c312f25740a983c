"""Query parameters validated exactly as the schema documents them.

Every API view declares the query parameters each method takes (`query_parameters`, a
serializer per method); anything else in the query string is refused with a 400, as is a
declared parameter given twice or of the wrong type. The schema documents the same serializers
(core/schema.py), so the two cannot drift. Before this, `?page[a]=1` was silently ignored where
the schema promised an integer.
"""

from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView


class QueryValidationMixin:
    """For APIView subclasses: refuse a query string the operation does not document.

    Runs in initial(), after authentication, permissions and throttles: an anonymous client
    gets the 401 first, as for a body.
    """

    # Method (GET, POST, ...) -> the serializer of its query parameters; absent: none allowed.
    query_parameters: ClassVar[dict[str, type[serializers.Serializer]]] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        request.validated_query = validate_query(request, self.query_parameters.get(request.method or ""))  # type: ignore[attr-defined]


def validate_query(request: Request, serializer_class: type[serializers.Serializer] | None) -> dict[str, Any]:
    """The validated query parameters, or a 400 naming each one that is unknown, repeated or invalid."""
    query = request.query_params
    declared = serializer_class().fields if serializer_class is not None else {}
    errors: dict[str, list[str]] = {}
    for name in query:
        if name not in declared:
            errors[name] = ["Unknown query parameter."]
        elif len(query.getlist(name)) > 1:
            errors[name] = ["Given more than once."]
    if errors:
        raise ValidationError(errors)
    if serializer_class is None:
        return {}
    serializer = serializer_class(data={name: query[name] for name in query})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PageQuery(serializers.Serializer):
    """`?page=N` of a paginated list (PageNumberPagination's parameter)."""

    page = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text="A page number within the paginated result set."
    )


class ApiView(QueryValidationMixin, APIView):
    """The base of every API view: DRF's APIView with its query string validated."""
