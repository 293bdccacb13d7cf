"""Costs and allocations API for finance tools and BI: rollups and allocation results only."""

from __future__ import annotations

import calendar
from datetime import date

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from apps.usage.permissions import IsKeyOrSignedIn, visible_team_ids
from attribution_site.api_schema import error_responses
from attribution_site.query import query_params_check
from attribution_site.reads import ReadRateThrottle, read_time_limited

from .paging import page_of, query_fingerprint
from .selectors import ROLLUP_DIMENSIONS, CostReportTooLarge, allocation_lines, costs_report

MAX_DAYS = 400
DEFAULT_PAGE_SIZE = 500
# Dimensions with many values each: grouped together over a long period their product is the row
# count (customer × model × feature over 400 days ran to tens of thousands of rows).
MANY_VALUED = ("customer", "feature", "agent", "model", "day")
LONG_PERIOD_DAYS = 31
READ_ERRORS = error_responses(400, 401, 403, 429, 503)
FILTERS = ", ".join(d for d in ROLLUP_DIMENSIONS if d not in {"day", "month"})
MONEY = {"max_digits": 24, "decimal_places": 9}


def _key_text(dimension: str, value):
    if dimension == "month":
        return value.isoformat()[:7]  # strftime does not pad years before 1000
    return value.isoformat() if isinstance(value, date) else value


class TextParam(serializers.CharField):
    """Optional text taken as sent, refusing a NUL with a validator the OpenAPI schema shows as a pattern."""

    def __init__(self, **kwargs):
        super().__init__(required=False, trim_whitespace=False, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]
        self.validators.append(RegexValidator(r"^[^\x00]*$", message="Null characters are not allowed."))


def _text(*, max_length: int, help_text: str) -> serializers.CharField:
    return TextParam(max_length=max_length, help_text=help_text)


def _filter(dimension: str) -> serializers.CharField:
    return _text(max_length=128, help_text=f"Only this {dimension}.")


_DIMENSION = f"({'|'.join(ROLLUP_DIMENSIONS)})"


@extend_schema_field({"type": "string", "pattern": f"^{_DIMENSION}(,{_DIMENSION})*$", "default": "team"})
class GroupByField(serializers.CharField):
    """Dimensions, comma-separated."""


def _too_many_values(group_by: list[str], filters: set[str], days: int) -> list[str] | None:
    """The many-valued dimensions of `group_by` if together they are too many for the period: more
    than two over more than LONG_PERIOD_DAYS days, more than three at all. A filtered one has one value."""
    grouped = [d for d in group_by if d in MANY_VALUED and d not in filters]
    limit = 2 if days > LONG_PERIOD_DAYS else 3
    return grouped if len(grouped) > limit else None


class CostsApi(APIView):
    permission_classes = [IsKeyOrSignedIn]
    throttle_classes = [ReadRateThrottle]

    class InputSerializer(serializers.Serializer):
        start = serializers.DateField()
        end = serializers.DateField()
        group_by = GroupByField(required=False, default="team", trim_whitespace=False)
        # Filters: one per dimension besides time.
        team = _filter("team")
        product = _filter("product")
        feature = _filter("feature")
        environment = _filter("environment")
        provider = _filter("provider")
        model = _filter("model")
        customer = _filter("customer")
        agent = _filter("agent")
        adjustment = _filter("adjusted closed month (YYYY-MM): late events booked in an open month")
        page_size = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=settings.COSTS_MAX_PAGE_SIZE,
            error_messages={"max_value": "Ask for at most {max_value} rows per page."},
            help_text=f"Rows per page (default {DEFAULT_PAGE_SIZE}).",
        )
        cursor = _text(max_length=2000, help_text="The `next_cursor` of the previous page, as it is.")

        def validate_group_by(self, value: str) -> list[str]:
            dims = value.split(",")
            unknown = [d for d in dims if d not in ROLLUP_DIMENSIONS]
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown dimension(s): {', '.join(map(repr, unknown))}. Give a comma-separated list "
                    f"(no spaces) of {', '.join(ROLLUP_DIMENSIONS)}."
                )
            return list(dict.fromkeys(dims))

        def validate(self, attrs):
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError({"end": "Must not be before start."})
            if (attrs["end"] - attrs["start"]).days >= MAX_DAYS:
                raise serializers.ValidationError({"end": f"Ask for at most {MAX_DAYS} days at a time."})
            days = (attrs["end"] - attrs["start"]).days + 1
            too_many = _too_many_values(attrs["group_by"], set(attrs) & set(ROLLUP_DIMENSIONS), days)
            if too_many:
                raise serializers.ValidationError(
                    {
                        "group_by": [
                            f"Grouping by {' × '.join(too_many)} over {days} days can return millions of rows. "
                            f"Group by at most two of {', '.join(MANY_VALUED)} over more than {LONG_PERIOD_DAYS} "
                            f"days (three over {LONG_PERIOD_DAYS} days or fewer): narrow start and end, filter "
                            "one of them (e.g. customer=acme), or drop one from group_by."
                        ]
                    }
                )
            return attrs

    class RowSerializer(serializers.Serializer):
        key = serializers.DictField()
        requests = serializers.IntegerField()
        input_tokens = serializers.IntegerField()
        output_tokens = serializers.IntegerField()
        list_cost = serializers.DecimalField(**MONEY)
        direct_cost = serializers.DecimalField(**MONEY)
        allocated_in = serializers.DecimalField(**MONEY)
        allocated_out = serializers.DecimalField(**MONEY)
        total = serializers.DecimalField(**MONEY)

        def to_representation(self, instance):
            data = super().to_representation(instance)
            key = data.pop("key")
            return {**{k: _key_text(k, v) for k, v in key.items()}, **data}

    # The schema of a row: the key flattened into one field per dimension grouped by (see
    # RowSerializer.to_representation), then the figures; the total has the figures only.
    RowOutSchema = type(
        "CostRowSerializer",
        (RowSerializer,),
        {
            "key": None,
            **{
                d: serializers.CharField(required=False, allow_null=True, help_text=f"Present when grouped by {d}.")
                for d in ROLLUP_DIMENSIONS
            },
        },
    )
    TotalOutSchema = type("CostTotalSerializer", (RowSerializer,), {"key": None})

    @extend_schema(
        operation_id="costs",
        parameters=[InputSerializer],
        responses={
            200: inline_serializer(
                "CostReport",
                {
                    "group_by": serializers.ListField(child=serializers.CharField()),
                    "rows": RowOutSchema(many=True),
                    "total": TotalOutSchema(help_text="The sum over all pages."),
                    "count": serializers.IntegerField(help_text="Rows over all pages."),
                    "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
                    "next_cursor": serializers.CharField(allow_null=True, help_text="The next page's `cursor`."),
                },
            ),
            **READ_ERRORS,
            **error_responses(404),
        },
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query_params_check(request, params, known=f"start, end, group_by or a filter: {FILTERS}")
        filters = {d: params.validated_data[d] for d in ROLLUP_DIMENSIONS if d in params.validated_data}
        team_ids = visible_team_ids(request)
        try:
            with read_time_limited():
                report = costs_report(
                    start=params.validated_data["start"],
                    end=params.validated_data["end"],
                    group_by=params.validated_data["group_by"],
                    filters=filters,
                    team_ids=team_ids,
                    max_rows=settings.COSTS_MAX_ROWS,
                )
        except CostReportTooLarge as exc:
            raise serializers.ValidationError(
                {
                    "group_by": [
                        f"Grouping by {' × '.join(params.validated_data['group_by'])} from start to end gives more "
                        f"than {exc.max_rows:,} rows: narrow start and end, filter a dimension, or drop one "
                        "from group_by."
                    ]
                }
            ) from None
        rows, next_cursor = page_of(
            report.rows,
            cursor=params.validated_data.get("cursor"),
            page_size=params.validated_data.get("page_size", DEFAULT_PAGE_SIZE),
            fingerprint=query_fingerprint({**params.validated_data, "team_ids": team_ids}),
        )
        return Response(
            {
                "group_by": params.validated_data["group_by"],
                "rows": self.RowSerializer(rows, many=True).data,
                "total": self.RowSerializer(report.total).data,
                "count": len(report.rows),
                "next": next_cursor and replace_query_param(request.build_absolute_uri(), "cursor", next_cursor),
                "next_cursor": next_cursor,
            }
        )


class AllocationsApi(APIView):
    permission_classes = [IsKeyOrSignedIn]
    throttle_classes = [ReadRateThrottle]

    class InputSerializer(serializers.Serializer):
        month = serializers.RegexField(r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", error_messages={"invalid": "Use YYYY-MM."})

    class LineSerializer(serializers.Serializer):
        rule = serializers.CharField()
        source = serializers.CharField()
        source_team = serializers.CharField(allow_null=True)
        team = serializers.CharField()
        method = serializers.CharField()
        amount = serializers.DecimalField(**MONEY)
        source_amount = serializers.DecimalField(**MONEY)
        basis = serializers.DecimalField(**MONEY)
        basis_total = serializers.DecimalField(**MONEY)
        share = serializers.DecimalField(max_digits=10, decimal_places=6)
        days_fell_back = serializers.IntegerField()
        days = inline_serializer(
            "AllocationDay",
            {
                "day": serializers.DateField(),
                "amount": serializers.DecimalField(**MONEY),
                "source_amount": serializers.DecimalField(**MONEY),
                "basis": serializers.DecimalField(**MONEY),
                "basis_total": serializers.DecimalField(**MONEY),
                "share": serializers.DecimalField(**MONEY),
                "fell_back_to_even": serializers.BooleanField(),
            },
            many=True,
        )

    @extend_schema(
        operation_id="allocations",
        parameters=[InputSerializer],
        responses={
            200: inline_serializer(
                "AllocationReport",
                {"month": serializers.CharField(help_text="YYYY-MM"), "allocations": LineSerializer(many=True)},
            ),
            **READ_ERRORS,
        },
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        year, month = map(int, params.validated_data["month"].split("-"))
        start = date(year, month, 1)
        end = date(year, month, calendar.monthrange(year, month)[1])
        team_ids = visible_team_ids(request)
        with read_time_limited():
            lines = allocation_lines(start=start, end=end, team_ids=team_ids)
        return Response(
            {"month": params.validated_data["month"], "allocations": self.LineSerializer(lines, many=True).data}
        )
