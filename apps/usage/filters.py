"""Filters of the events diagnostics list."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from .models import UsageEvent


class UsageEventFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(method="filter_team", help_text="Team slug (or the unknown tag value).")
    product = django_filters.CharFilter(method="filter_product", help_text="Product slug (or the unknown tag value).")
    feature = django_filters.CharFilter()
    customer = django_filters.CharFilter()
    agent = django_filters.CharFilter()
    model = django_filters.CharFilter()
    trace_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = UsageEvent
        fields: list[str] = []

    def filter_team(self, queryset, name, value):
        return queryset.filter(Q(team__slug=value) | Q(team__isnull=True, team_tag=value))

    def filter_product(self, queryset, name, value):
        return queryset.filter(Q(product__slug=value) | Q(product__isnull=True, product_tag=value))
