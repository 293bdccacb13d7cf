"""The per-dimension daily breakdown the pages read: every dimension sums to the day's rollups."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Sum

from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.rollups.services import day_rebuild
from tests.factories import ApiKeyFactory, ModelPriceFactory, ProductFactory, TeamFactory

from .events import days_ago, event, ingest

pytestmark = pytest.mark.django_db

SUMS = ("requests", "errors", "traces", "input_tokens", "output_tokens", "list_cost", "billed_cost", "cache_savings")


@pytest.fixture
def mixed_day(price, team):
    ProductFactory(slug="answers", team=team)
    other = TeamFactory(slug="billing")
    day = days_ago(1)
    ingest(
        ApiKeyFactory(team=team),
        event(day=day, team="search", product="answers", customer="acme", agent="bot", trace_id="t1"),
        event(day=day, team="search", product="answers", customer="acme", agent="bot", trace_id="t2"),
        event(day=day, team="search", feature="summarise", model="unknown-model", outcome="error"),
        event(day=day, team="search", environment="prod", customer="globex", input_tokens=5000),
    )
    ingest(ApiKeyFactory(team=other), event(day=day, team="billing"), event(day=day, team="ghost"))
    day_rebuild(day=day)
    return day


def _by_team(queryset) -> dict:
    totals: dict = defaultdict(dict)
    for row in queryset.values("team_id").annotate(**{name: Sum(name) for name in SUMS}):
        totals[row.pop("team_id")] = row
    return dict(totals)


@pytest.mark.parametrize("dimension", [d for d, _ in DailyBreakdown.Dimension.choices])
def test_each_dimension_sums_to_the_rollups_per_team(mixed_day, dimension):
    rollups = _by_team(DailyRollup.objects.filter(day=mixed_day))
    breakdown = _by_team(DailyBreakdown.objects.filter(day=mixed_day, dimension=dimension))
    assert breakdown == rollups


def test_values_are_slugs_and_empty_strings_for_none(mixed_day, team):
    rows = DailyBreakdown.objects.filter(day=mixed_day, team=team)
    assert set(rows.filter(dimension="product").values_list("value", flat=True)) == {"answers", ""}
    assert set(rows.filter(dimension="environment").values_list("value", flat=True)) == {"production", ""}
    customers = dict(rows.filter(dimension="customer").values_list("value", "requests"))
    assert customers == {"acme": 2, "globex": 1, "": 1}
    assert rows.get(dimension="agent", value="bot").traces == 2


def test_the_unattributed_bucket_has_its_own_rows(mixed_day):
    total = DailyBreakdown.objects.get(day=mixed_day, dimension="total", team__isnull=True)
    assert (total.requests, total.billed_cost) == (1, Decimal("0.004500000"))


def test_a_rebuild_replaces_the_days_breakdown(mixed_day):
    before = DailyBreakdown.objects.filter(day=mixed_day).count()
    day_rebuild(day=mixed_day)
    assert DailyBreakdown.objects.filter(day=mixed_day).count() == before


def test_dated_snapshots_are_one_model_in_the_breakdown_and_keep_their_names_in_the_rollups(team):
    ModelPriceFactory(model="claude-sonnet-4-5")
    day = days_ago(1)
    ingest(
        ApiKeyFactory(team=team),
        event(day=day, team="search", model="claude-sonnet-4-5-20250929"),
        event(day=day, team="search", model="claude-sonnet-4-5"),
        event(day=day, team="search", model="mystery-model"),
    )
    day_rebuild(day=day)

    models = dict(
        DailyBreakdown.objects.filter(day=day, dimension="model").values_list("value").annotate(n=Sum("requests"))
    )
    assert models == {"claude-sonnet-4-5": 2, "mystery-model": 1}
    assert sorted(DailyRollup.objects.filter(day=day).values_list("model", "model_family")) == [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("mystery-model", "mystery-model"),
    ]
