"""Opportunities API: the same access rules as the costs API (a key its team, people their teams)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.usage.permissions import IsKeyOrSignedIn, visible_team_ids
from attribution_site.api_schema import error_responses
from attribution_site.query import query_params_check

from .models import Opportunity
from .selectors import opportunities_visible

MONEY = {"max_digits": 24, "decimal_places": 9}


class OpportunitiesApi(APIView):
    permission_classes = [IsKeyOrSignedIn]

    class InputSerializer(serializers.Serializer):
        team = serializers.SlugField(required=False, max_length=64, help_text="Only this team (slug).")
        lever = serializers.ChoiceField(choices=Opportunity.Lever.choices, required=False)
        status = serializers.ChoiceField(choices=Opportunity.Status.choices, required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        lever = serializers.CharField()
        status = serializers.CharField()
        team = serializers.CharField(source="team.slug")
        product = serializers.CharField(source="product.slug", default=None)
        feature = serializers.CharField()
        agent = serializers.CharField()
        api_key = serializers.CharField(source="api_key.name", default=None)
        provider = serializers.CharField()
        model = serializers.CharField()
        monthly_saving = serializers.DecimalField(**MONEY)
        sentence = serializers.CharField()
        evidence = serializers.DictField()
        owner = serializers.CharField(source="owner.username", default=None)
        due_on = serializers.DateField(allow_null=True, help_text="When the owner means to be done.")
        dismissed_reason = serializers.CharField()
        first_found = serializers.DateField()
        last_found = serializers.DateField()
        done_at = serializers.DateTimeField()
        before_unit_cost = serializers.DecimalField(**MONEY)
        after_unit_cost = serializers.DecimalField(**MONEY)
        realised_monthly_saving = serializers.DecimalField(**MONEY)

    @extend_schema(
        operation_id="opportunities",
        parameters=[InputSerializer],
        responses={200: OutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query_params_check(request, params, known="team, lever or status")
        rows = opportunities_visible(team_ids=visible_team_ids(request), **params.validated_data)
        return Response(self.OutputSerializer(rows, many=True).data)
