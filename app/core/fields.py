"""Serializer fields that take JSON's types as the schema states them.

DRF's CharField turns a number into a string (`{"title": 0}` was saved as "0"), so input the
schema calls invalid was accepted (schemathesis: "schema-violating request accepted"). These
refuse anything but a JSON string, with DRF's own "Not a valid string." message.
"""

from typing import Any

from django.db import models
from rest_framework import serializers


class StrictStringMixin:
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(StrictStringMixin, serializers.CharField):
    """Also kept as sent: DRF trims whitespace by default, so "\f" became a blank title and was
    refused, though the schema's non-empty string allows it (nor can a schema state Python's
    idea of whitespace)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    pass


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose generated text fields are strict (and which the schema marks so)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }
