"""Events API, ingesting: POST /events with one event or a batch, validated by apps.usage.event."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.views import APIView

from attribution_site.api_schema import error_responses
from attribution_site.exceptions import ApplicationError

from ..event import (
    FIELDS,
    MAX_ATTRIBUTE_VALUE,
    MAX_ATTRIBUTES,
    MAX_TOKENS,
    SERVICE_TIERS,
    EventField,
    echo,
)
from ..permissions import IsApiKey
from ..services import events_ingest


def _schema_field(field: EventField) -> serializers.Field:
    """The OpenAPI description of one canonical event field (the schema only: apps.usage.event
    validates, without a serializer per event on the hot path)."""
    common = {"help_text": field.help or None, "required": field.required}
    if field.kind == "string":
        return serializers.CharField(max_length=field.max_length, min_length=1 if field.required else None, **common)
    if field.kind == "timestamp":
        return serializers.DateTimeField(**common)
    if field.kind == "tokens":
        return serializers.IntegerField(min_value=0, max_value=MAX_TOKENS, **common)
    if field.kind == "tier":
        return serializers.ChoiceField(choices=SERVICE_TIERS, **common)
    if field.kind == "latency":
        return serializers.IntegerField(min_value=0, max_value=2**31 - 1, **common)
    if field.kind == "flag":
        return serializers.BooleanField(**common)
    return AttributesField(**common)


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": MAX_ATTRIBUTES,
        "additionalProperties": {
            "oneOf": [{"type": "string", "maxLength": MAX_ATTRIBUTE_VALUE}, {"type": "number"}, {"type": "boolean"}]
        },
    }
)
class AttributesField(serializers.DictField):
    """A flat object: string keys (at most MAX_ATTRIBUTE_KEY characters) to strings, numbers or booleans."""


EventInSerializer = type("EventInSerializer", (serializers.Serializer,), {f.name: _schema_field(f) for f in FIELDS})


class BatchInSerializer(serializers.Serializer):
    events = EventInSerializer(many=True, help_text="Up to INGEST_MAX_BATCH (1,000) events.")


class IngestOutSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = inline_serializer(
        "RejectedEvent",
        {
            "index": serializers.IntegerField(),
            "event_id": serializers.CharField(allow_null=True),
            "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        },
        many=True,
    )
    conflicts = inline_serializer(
        "ConflictingEvent",
        {
            "index": serializers.IntegerField(),
            "event_id": serializers.CharField(),
            "fields": serializers.ListField(
                child=serializers.CharField(), help_text="Where the resend differs; the stored event is kept."
            ),
        },
        many=True,
    )


class EventsSchema(AutoSchema):
    """POST /events must have a body; drf-spectacular cannot tell from a one-of body."""

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, _required = super()._get_request_for_media_type(serializer, direction)
        return schema, True


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class EventsIngestApi(APIView):
    schema = EventsSchema()
    permission_classes = [IsApiKey]

    @extend_schema(
        operation_id="events_ingest",
        summary='Send one usage event, or a batch as {"events": [...]}',
        request={
            "application/json": PolymorphicProxySerializer(
                component_name="EventOrBatch",
                serializers=[EventInSerializer, BatchInSerializer],
                resource_type_field_name=None,
            )
        },
        responses={
            202: IngestOutSerializer,
            422: OpenApiResponse(
                IngestOutSerializer,
                description="No event of the request was accepted: each is listed in `rejected` with its errors.",
            ),
            **error_responses(400, 401, 403, 413, 415),
        },
        auth=[{"ApiKey": []}],
        examples=[
            OpenApiExample(
                "Batch",
                value={
                    "events": [
                        {
                            "event_id": "req_01",
                            "timestamp": "2026-11-24T10:00:00Z",
                            "provider": "anthropic",
                            "model": "claude-sonnet-4-5",
                            "input_tokens": 1200,
                            "output_tokens": 300,
                        }
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        events = self._events(request)
        result = events_ingest(key=request.auth, events=events)
        # orjson straight to the response: the serializer and renderer cost more than the insert
        # of a single event (docs/benchmarks.md, "Profile"). IngestOutSerializer documents it.
        body = {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            "conflicts": result.conflicts,
        }
        # Valid events of a batch are stored whatever the others hold (202); a request of which no
        # event could be stored says so in its status too, so a client checking only that sees it.
        refused = events and len(result.rejected) == len(events)
        code = status.HTTP_422_UNPROCESSABLE_ENTITY if refused else status.HTTP_202_ACCEPTED
        return HttpResponse(orjson.dumps(body), status=code, content_type="application/json")

    def _events(self, request) -> list:
        if not _is_json(request.content_type):
            raise ApplicationError(
                f"Send the events as application/json, not {echo(request.content_type) or 'an untyped body'}.",
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        too_big = ApplicationError(
            f"The body is larger than {settings.INGEST_MAX_BODY_BYTES} bytes; send smaller batches.",
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
        try:
            if int(request.META.get("CONTENT_LENGTH") or 0) > settings.INGEST_MAX_BODY_BYTES:
                raise too_big
            body = request.body
        except RequestDataTooBig:
            raise too_big from None
        except ValueError:
            raise ApplicationError("Content-Length is not a number.") from None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApplicationError(f"The body is not valid JSON: {exc}.") from None
        if isinstance(payload, dict) and "events" in payload:
            events = payload["events"]
            if not isinstance(events, list):
                raise ApplicationError('"events" must be a list of event objects.')
            if len(payload) > 1:
                extra = ", ".join(sorted(k for k in payload if k != "events"))
                raise ApplicationError(f'A batch body has only an "events" list; unexpected: {extra}.')
        elif isinstance(payload, dict):
            events = [payload]
        else:
            raise ApplicationError('Send one event object, or {"events": [event, ...]}.')
        if len(events) > settings.INGEST_MAX_BATCH:
            raise ApplicationError(
                f"A batch holds at most {settings.INGEST_MAX_BATCH} events; this one has {len(events)}."
            )
        return events
