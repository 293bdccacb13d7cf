"""The error bodies every API answer can carry, documented once for the OpenAPI schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema_field, extend_schema_serializer
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, and what to do about it.")


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
class _Messages(serializers.Field):
    pass


@extend_schema_serializer(component_name="ValidationError")
class ValidationErrorSerializer(serializers.Serializer):
    """A 400: `detail` for the request as a whole, or one key per parameter or field that was
    refused (its name), each with its messages."""

    detail = _Messages(required=False)


_DESCRIPTIONS = {
    400: "A parameter or the body was refused; each key names what, with why.",
    401: "No credentials, or unknown ones.",
    403: "The credentials may not do this (a revoked key, a person outside every team, …).",
    404: "Nothing visible to the caller here.",
    413: "The body is larger than INGEST_MAX_BODY_BYTES.",
    415: "The body is not JSON.",
    429: "Too many reads: wait for the seconds in Retry-After.",
    503: "The report took too long and was stopped: ask for less.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers for `statuses`, for an `extend_schema(responses=…)`."""
    return {
        status: OpenApiResponse(
            response=ValidationErrorSerializer if status == 400 else ErrorSerializer,
            description=_DESCRIPTIONS[status],
        )
        for status in statuses
    }


def events_refuse_unknown_fields(result, generator, request, public):
    """drf-spectacular hook: an event, and a batch, refuse fields they do not know (so a misspelt
    tag is caught at once); the schema says so, as serializers cannot."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("EventIn", "BatchIn"):
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
