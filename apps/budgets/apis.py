"""Anomalies and alerts as JSON, for other tools to pick up; scoped like the pages."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.usage.permissions import IsKeyOrSignedIn, visible_team_ids
from attribution_site.api_schema import error_responses

from .models import Alert, Anomaly

DEFAULT_DAYS = 7
ERRORS = error_responses(400, 401, 403)


class SinceSerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text=f"YYYY-MM-DD; default {DEFAULT_DAYS} days ago.")


def _since(request):
    if request.query_params.get("since", None) == "":
        raise serializers.ValidationError({"since": ["Give a day as YYYY-MM-DD, or leave since out."]})
    params = SinceSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data.get("since") or timezone.now().date() - timedelta(days=DEFAULT_DAYS)


def _scoped(queryset, request):
    team_ids = visible_team_ids(request)
    return queryset if team_ids is None else queryset.filter(team_id__in=team_ids)


class AnomalyOutSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    amount = serializers.DecimalField(max_digits=24, decimal_places=9)
    baseline = serializers.DecimalField(max_digits=24, decimal_places=9)
    acknowledged = serializers.SerializerMethodField()

    class Meta:
        model = Anomaly
        fields = [
            "id",
            "dimension",
            "subject",
            "team",
            "day",
            "hour",
            "amount",
            "baseline",
            "drivers",
            "explanation",
            "detected_at",
            "acknowledged",
            "acknowledged_at",
        ]

    def get_acknowledged(self, anomaly) -> bool:
        return anomaly.acknowledged_at is not None


class AlertOutSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="null: the organisation's own."
    )

    class Meta:
        model = Alert
        fields = ["id", "kind", "subject", "period", "team", "message", "anomaly", "created_at"]


class AnomaliesApi(APIView):
    permission_classes = [IsKeyOrSignedIn]

    @extend_schema(
        operation_id="anomalies",
        parameters=[SinceSerializer],
        responses={200: AnomalyOutSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        anomalies = _scoped(Anomaly.objects.filter(day__gte=_since(request)).select_related("team"), request)
        return Response(AnomalyOutSerializer(anomalies, many=True).data)


class AlertsApi(APIView):
    permission_classes = [IsKeyOrSignedIn]

    @extend_schema(
        operation_id="alerts",
        parameters=[SinceSerializer],
        responses={200: AlertOutSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        alerts = _scoped(Alert.objects.filter(created_at__date__gte=_since(request)).select_related("team"), request)
        return Response(AlertOutSerializer(alerts, many=True).data)
