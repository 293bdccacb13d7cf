"""Events API, reading: the events a caller may see (GET /events) and one event (GET /events/<id>).

The output has every field of the canonical event (apps.usage.event.FIELDS), built from the same
list as the input, beside what ingestion derived: the resolved tags, cost, price and flags.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.org.tags import PLAIN_TAGS, TAGS
from attribution_site.api_schema import error_responses

from ..event import FIELDS, STRING_FIELDS, EventField
from ..filters import UsageEventFilter
from ..permissions import IsApiKeyOrStaff
from ..selectors import events_visible


def _output_field(field: EventField) -> serializers.Field:
    """The output of one canonical event field, as stored."""
    if field.kind in ("tokens", "latency"):
        return serializers.IntegerField(allow_null=field.kind == "latency")
    if field.kind == "timestamp":
        return serializers.DateTimeField()
    if field.kind == "flag":
        return serializers.BooleanField()
    if field.kind == "attributes":
        return serializers.DictField(child=serializers.CharField())
    return serializers.CharField(help_text=field.help or None)


class _EventOut(serializers.Serializer):
    """What ingestion derived; the event's own fields are added from FIELDS below."""

    api_key = serializers.CharField(source="api_key.name")
    received_at = serializers.DateTimeField()
    source = serializers.CharField(help_text="The door it came in by: api, gateway or otlp.")
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
    raw_tags = serializers.DictField(
        source="tags_sent", child=serializers.CharField(), help_text="The tags exactly as the event sent them."
    )
    flags = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "EventTags",
            {
                name: serializers.CharField(
                    allow_null=tag.registry,
                    help_text="The registered slug it resolved to; null when unknown." if tag.registry else None,
                )
                for name, tag in TAGS.items()
            },
        )
    )
    def get_tags(self, event) -> dict[str, str | None]:
        """Registry tags as the slug they resolved to (null when unknown), the others as stored."""
        resolved = {name: getattr(event, name) for name in TAGS if name not in PLAIN_TAGS}
        return {
            **{name: row.slug if row else None for name, row in resolved.items()},
            **{name: getattr(event, name) for name in PLAIN_TAGS},
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
                for name in TAGS
                if name not in PLAIN_TAGS and getattr(event, f"{name}_tag") and getattr(event, f"{name}_id") is None
            ],
        }


EventOutSerializer = type(
    "EventOutSerializer", (_EventOut,), {f.name: _output_field(f) for f in FIELDS if f.name not in TAGS}
)


class EventCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class EventsListApi(APIView):
    permission_classes = [IsApiKeyOrStaff]

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
