"""Reconciliation API for finance: per provider billed, recorded, difference and where the remainder went."""

from __future__ import annotations

import calendar
from datetime import date

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.org.selectors import user_sees_all_teams
from attribution_site.api_schema import error_responses

from .selectors import month_reconciliation

MONEY = {"max_digits": 24, "decimal_places": 9}


class IsFinanceOrStaff(BasePermission):
    message = "Only finance and staff read the provider bill."

    def has_permission(self, request, view) -> bool:
        return user_sees_all_teams(request.user)


class MonthSerializer(serializers.Serializer):
    month = serializers.RegexField(r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", error_messages={"invalid": "Use YYYY-MM."})

    def month_range(self) -> tuple[date, date]:
        year, month = map(int, self.validated_data["month"].split("-"))
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


class ReconciliationDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    team = serializers.CharField(
        allow_null=True,
        help_text="The mapped team the remainder goes to, or the team that recorded beyond the bill; "
        "null: unattributed.",
    )
    product = serializers.CharField(allow_null=True)
    scopes = serializers.CharField()
    billed = serializers.DecimalField(**MONEY)
    recorded = serializers.DecimalField(**MONEY)
    difference = serializers.DecimalField(**MONEY)
    remainder = serializers.DecimalField(**MONEY, help_text="Entered the rollups as provider-only spend.")
    over_recorded = serializers.DecimalField(**MONEY, help_text="Recorded beyond the bill, with its cause.")
    not_billed = serializers.DecimalField(
        **MONEY,
        help_text="Entered the rollups as a negative 'recorded, not billed' line on this team "
        "(0 while the provider's day is still running).",
    )
    basis = serializers.CharField(help_text="scope: compared per provider scope; team: events without a scope.")
    usage_priced = serializers.DecimalField(**MONEY, allow_null=True)
    is_partial = serializers.BooleanField()
    exceeds_threshold = serializers.BooleanField()
    cause = serializers.CharField()


class RealisedDiscountSerializer(serializers.Serializer):
    model = serializers.CharField()
    billed = serializers.DecimalField(**MONEY)
    listed = serializers.DecimalField(**MONEY, help_text="The same usage at list price, as the provider reports it.")
    realised_percent = serializers.DecimalField(max_digits=7, decimal_places=2)
    table_percent = serializers.DecimalField(
        max_digits=7, decimal_places=2, help_text="The negotiated discount the price table applies."
    )
    gap = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="Percentage points between the two.")


class ProviderReconciliationSerializer(serializers.Serializer):
    provider = serializers.CharField()
    has_bill = serializers.BooleanField(
        help_text="False: no bill pulled or imported for the month yet; billed is 0 and the events stand as recorded."
    )
    last_pulled = serializers.DateTimeField(
        allow_null=True, help_text="When the provider's bill was last fetched (admin API pull or FOCUS import)."
    )
    billed = serializers.DecimalField(**MONEY)
    recorded = serializers.DecimalField(**MONEY)
    difference = serializers.DecimalField(**MONEY)
    remainder = serializers.DecimalField(**MONEY)
    over_recorded = serializers.DecimalField(**MONEY)
    not_billed = serializers.DecimalField(**MONEY)
    attributed_total = serializers.DecimalField(**MONEY)
    balances = serializers.BooleanField()
    remainder_by_team = serializers.DictField(child=serializers.DecimalField(**MONEY))
    not_billed_by_team = serializers.DictField(child=serializers.DecimalField(**MONEY))
    days = ReconciliationDaySerializer(many=True)
    discounts = RealisedDiscountSerializer(many=True, help_text="Per model, from the lines that carry a list price.")


class MonthReconciliationSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM, as asked.")
    providers = ProviderReconciliationSerializer(many=True)


class ReconciliationApi(APIView):
    permission_classes = [IsFinanceOrStaff]

    @extend_schema(
        operation_id="reconciliation",
        parameters=[MonthSerializer],
        responses={200: MonthReconciliationSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        params = MonthSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.month_range()
        providers = month_reconciliation(start=start, end=end)
        return Response(
            MonthReconciliationSerializer({"month": params.validated_data["month"], "providers": providers}).data
        )
