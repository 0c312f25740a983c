"""Pagination for plain APIViews, with the paginator DRF's settings name (REST_FRAMEWORK)."""

from django.db.models import Model, QuerySet
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings
from rest_framework.views import APIView


def paginated_response(
    *, request: Request, view: APIView, queryset: QuerySet[Model], serializer_class: type[BaseSerializer]
) -> Response:
    """One page of `queryset`, serialised, with the paginator's links and count."""
    paginator: BasePagination = api_settings.DEFAULT_PAGINATION_CLASS()  # type: ignore[operator, misc]
    page = paginator.paginate_queryset(queryset, request, view=view)
    response: Response = paginator.get_paginated_response(serializer_class(page, many=True).data)
    return response


def paginated_schema(serializer_class: type[BaseSerializer]) -> BaseSerializer:
    """The OpenAPI description of what paginated_response returns for this serializer."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        f"Paginated{name}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )
