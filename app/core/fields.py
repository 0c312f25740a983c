"""Serializer fields that take JSON's types as the schema states them.

DRF's CharField turns a number into a string (`{"title": 0}` was saved as "0"), so input the
schema calls invalid was accepted (schemathesis: "schema-violating request accepted"). These
refuse anything but a JSON string, with DRF's own "Not a valid string." message.
"""

from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from rest_framework import serializers

# The addresses the API takes, as the schema states them: `format: email` plus this pattern.
# The format alone admits "0@0.a", which Django's EmailValidator refuses (a one-letter top-level
# domain), and schemathesis saw that schema-valid address refused. The pattern: a dot-atom local
# part, then hostname labels ending in a top-level domain of letters, in the regex syntax JSON
# Schema (ECMA-262) and Python share. A subset of what EmailValidator takes. A label may not have
# "--" as its 3rd and 4th characters (reserved for IDNA; the format refuses them unless they are
# valid punycode), so internationalised domains are refused in their xn-- form too.
_A, _H = "[A-Za-z0-9]", "[A-Za-z0-9-]"  # a letter or digit; the same or a hyphen
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# 1, 2, 3 or 4 characters, or 5 to 63 whose 3rd and 4th are not both hyphens; no hyphen at an end.
_LABEL = f"{_A}(?:{_A}|{_H}{_A}|{_H}{{2}}{_A}|{_H}(?:{_A}{_H}|-{_A}){_H}{{0,58}}{_A})?"
EMAIL_PATTERN = f"^{_ATOM}(\\.{_ATOM})*@({_LABEL}\\.)+[A-Za-z]{{2,63}}$"
# The format also limits the local part (before the @) to 64 characters (RFC 5321), which a
# pattern cannot say without a lookahead that generators cannot satisfy.
EMAIL_LOCAL_PART_MAX = 64


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
    """An address that matches EMAIL_PATTERN (the schema's `pattern`, from the RegexValidator), has
    a local part of at most 64 characters, and passes Django's EmailValidator. Kept as sent:
    trimming would take " a@example.com", which the pattern refuses."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        invalid = self.error_messages["invalid"]
        self.validators[:0] = [RegexValidator(EMAIL_PATTERN, message=invalid), self._local_part_fits]

    def _local_part_fits(self, value: str) -> None:
        if len(value.rsplit("@", 1)[0]) > EMAIL_LOCAL_PART_MAX:
            self.fail("invalid")


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose generated text fields are strict (and which the schema marks so)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }
