"""Events API: ingestion (POST) and request-level diagnostics (GET)."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from attribution_site.api_schema import error_responses
from attribution_site.exceptions import ApplicationError

from .event import (
    FIELDS,
    MAX_ATTRIBUTE_VALUE,
    MAX_ATTRIBUTES,
    MAX_TOKENS,
    SERVICE_TIERS,
    STRING_FIELDS,
    EventField,
    echo,
)
from .filters import UsageEventFilter
from .permissions import IsApiKey, IsApiKeyOrStaff
from .selectors import events_visible
from .services import events_ingest


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


class EventOutSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    api_key = serializers.CharField(source="api_key.name")
    timestamp = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    source = serializers.CharField(help_text="The door it came in by: api, gateway or otlp.")
    provider = serializers.CharField()
    model = serializers.CharField()
    service_tier = serializers.CharField()
    outcome = serializers.CharField()
    latency_ms = serializers.IntegerField(allow_null=True)
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cache_read_tokens = serializers.IntegerField()
    cache_write_tokens = serializers.IntegerField()
    cache_write_1h_tokens = serializers.IntegerField()
    reasoning_tokens = serializers.IntegerField()
    list_cost = serializers.DecimalField(max_digits=20, decimal_places=9)
    billed_cost = serializers.DecimalField(max_digits=20, decimal_places=9)
    price = inline_serializer(
        "PriceUsed",
        {
            "id": serializers.IntegerField(),
            "provider": serializers.CharField(),
            "model": serializers.CharField(),
            "effective_from": serializers.DateTimeField(),
        },
        allow_null=True,
    )
    tags = serializers.SerializerMethodField()
    raw_tags = serializers.DictField(child=serializers.CharField())
    attributes = serializers.DictField(child=serializers.CharField())
    flags = serializers.SerializerMethodField()

    def get_tags(self, event) -> dict[str, str | None]:
        return {
            "team": event.team.slug if event.team else None,
            "product": event.product.slug if event.product else None,
            "environment": event.environment.slug if event.environment else None,
            "feature": event.feature,
            "customer": event.customer,
            "agent": event.agent,
            "trace_id": event.trace_id,
        }

    @extend_schema_field(
        inline_serializer(
            "EventFlags",
            {
                "unpriced": serializers.BooleanField(),
                "usage_missing": serializers.BooleanField(),
                "unattributed": serializers.BooleanField(),
                "unattributed_reason": serializers.CharField(),
                "missing_tags": serializers.ListField(child=serializers.CharField()),
                "unknown_tags": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get_flags(self, event) -> dict[str, object]:
        return {
            "unpriced": event.unpriced,
            "usage_missing": event.usage_missing,
            "unattributed": event.team_id is None,
            "unattributed_reason": event.unattributed_reason,
            "missing_tags": event.missing_tags.split(",") if event.missing_tags else [],
            "unknown_tags": [
                name
                for name, tag, row in (
                    ("team", event.team_tag, event.team_id),
                    ("product", event.product_tag, event.product_id),
                    ("environment", event.environment_tag, event.environment_id),
                )
                if tag and row is None
            ],
        }


class EventCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class EventsSchema(AutoSchema):
    """POST /events must have a body; drf-spectacular cannot tell from a one-of body."""

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, _required = super()._get_request_for_media_type(serializer, direction)
        return schema, True


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class EventsApi(APIView):
    schema = EventsSchema()

    def get_permissions(self):
        return [IsApiKey()] if self.request.method == "POST" else [IsApiKeyOrStaff()]

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

    @extend_schema(
        operation_id="events_list",
        parameters=[
            OpenApiParameter("cursor", str, description="The `next` or `previous` link's cursor, as it is."),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": EventCursorPagination.max_page_size},
                description="Events per page (default 100).",
            ),
        ],
        responses={
            200: inline_serializer(
                "EventPage",
                {
                    "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
                    "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null."),
                    "results": EventOutSerializer(many=True),
                },
            ),
            **error_responses(400, 401, 403, 404),
        },
        filters=True,
    )
    def get(self, request):
        if "page_size" in request.query_params:
            # DRF's pagination quietly ignores a page size it cannot read: say so instead.
            size = serializers.IntegerField(min_value=1, max_value=EventCursorPagination.max_page_size)
            try:
                size.run_validation(request.query_params["page_size"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"page_size": exc.detail}) from None
        filterset = UsageEventFilter(request.query_params, queryset=events_visible(request))
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        queryset = filterset.qs
        paginator = EventCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(EventOutSerializer(page, many=True).data)


class EventDetailApi(APIView):
    permission_classes = [IsApiKeyOrStaff]

    @extend_schema(
        operation_id="events_retrieve", responses={200: EventOutSerializer, **error_responses(401, 403, 404)}
    )
    def get(self, request, event_id: str):
        if "\x00" in event_id or len(event_id) > STRING_FIELDS["event_id"]:
            raise Http404("No event with this event_id is visible to you.")  # no stored event_id can be so
        event = events_visible(request).filter(event_id=event_id).order_by("-id").first()
        if event is None:
            raise Http404("No event with this event_id is visible to you.")
        return Response(EventOutSerializer(event).data)
