"""Filters of the events diagnostics list."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from .models import UsageEvent


class MomentField(IsoDateTimeField):
    """An RFC 3339 moment that every database can compare with (year 1 with an offset cannot)."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError("Out of range: give a moment between years 1 and 9999 in UTC.") from None
        return moment


class MomentFilter(django_filters.IsoDateTimeFilter):
    field_class = MomentField


class UsageEventFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(method="filter_team", help_text="Team slug (or the unknown tag value).")
    product = django_filters.CharFilter(method="filter_product", help_text="Product slug (or the unknown tag value).")
    feature = django_filters.CharFilter()
    customer = django_filters.CharFilter()
    agent = django_filters.CharFilter()
    model = django_filters.CharFilter()
    trace_id = django_filters.CharFilter()
    since = MomentFilter(field_name="timestamp", lookup_expr="gte")
    until = MomentFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = UsageEvent
        fields: list[str] = []

    def filter_team(self, queryset, name, value):
        return queryset.filter(Q(team__slug=value) | Q(team__isnull=True, team_tag=value))

    def filter_product(self, queryset, name, value):
        return queryset.filter(Q(product__slug=value) | Q(product__isnull=True, product_tag=value))
