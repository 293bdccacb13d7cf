"""day_rebuild: one day's events grouped by the rollup grain and summed exactly, in SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.org.models import TagPolicy
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_rebuild
from tests.factories import ApiKeyFactory, NegotiatedDiscountFactory, ProductFactory

from .events import days_ago, event, ingest

pytestmark = pytest.mark.django_db

TAGS = {
    "team": "search",
    "product": "search-ui",
    "feature": "autocomplete",
    "environment": "production",
    "customer": "acme",
    "agent": "ranker",
}


@pytest.fixture
def registered(team, other_team, price, cheap_price):
    ProductFactory(slug="search-ui", team=team)
    ProductFactory(slug="search-api", team=team)
    ProductFactory(slug="invoices", team=other_team)


def _rows(day):
    return list(DailyRollup.objects.filter(day=day).order_by("id"))


def test_it_sums_events_with_the_same_tags_into_one_row(api_key, registered):
    ingest(api_key, event(**TAGS), event(**TAGS))

    day_rebuild(day=days_ago(1))

    [row] = _rows(days_ago(1))
    assert row.requests == 2
    assert row.billed_cost == Decimal("0.009000000")


def test_it_resolves_the_rows_tags_to_registry_rows(api_key, registered, team):
    ingest(api_key, event(**TAGS))

    day_rebuild(day=days_ago(1))

    [row] = _rows(days_ago(1))
    assert (row.team, row.product.slug, row.environment.slug) == (team, "search-ui", "production")
    assert (row.feature, row.customer, row.agent, row.provider, row.model) == (
        "autocomplete",
        "acme",
        "ranker",
        "anthropic",
        "test-model",
    )
    assert (row.api_key_id, row.unattributed_reason, row.team_tag, row.missing_tags) == (api_key.id, "", "", "")


@pytest.mark.parametrize(
    ("dimension", "other"),
    [
        ("team", {"team": "billing", "product": "invoices"}),  # a team's events name its own products
        ("product", {"product": "search-api"}),
        ("feature", {"feature": "spellcheck"}),
        ("environment", {"environment": "staging"}),
        ("provider", {"provider": "openai"}),
        ("model", {"model": "cheap-model"}),
        ("customer", {"customer": "globex"}),
        ("agent", {"agent": "planner"}),
    ],
)
def test_it_keeps_events_that_differ_in_one_dimension_apart(api_key, registered, dimension, other):
    ingest(api_key, event(**TAGS), event(**{**TAGS, **other}))

    day_rebuild(day=days_ago(1))

    rows = _rows(days_ago(1))
    assert [row.requests for row in rows] == [1, 1]
    column = f"{dimension}_id" if dimension in ("team", "product", "environment") else dimension
    assert len({getattr(row, column) for row in rows}) == 2


def test_it_keeps_each_api_keys_events_apart(api_key, registered, team):
    ingest(api_key, event(**TAGS))
    ingest(ApiKeyFactory(team=team), event(**TAGS))

    day_rebuild(day=days_ago(1))

    assert sorted(row.requests for row in _rows(days_ago(1))) == [1, 1]


def test_it_keeps_events_missing_required_tags_apart(api_key, registered):
    ingest(api_key, event(**TAGS))
    policy = TagPolicy.objects.get(environment__slug="production")
    policy.required_tags = [*policy.required_tags, "trace_id"]
    policy.save()
    ingest(api_key, event(**TAGS))

    day_rebuild(day=days_ago(1))

    assert sorted(row.missing_tags for row in _rows(days_ago(1))) == ["", "trace_id"]


def test_it_sums_every_figure_of_a_row_exactly(api_key, registered):
    NegotiatedDiscountFactory(model="test-model", percent_off=Decimal("10"))
    ingest(
        api_key,
        event(**TAGS, trace_id="t1"),
        event(
            **TAGS,
            trace_id="t1",
            outcome="error",
            input_tokens=2000,
            cache_read_tokens=1000,
            cache_write_tokens=500,
            cache_write_1h_tokens=200,
            output_tokens=50,
            reasoning_tokens=20,
        ),
        event(**TAGS, trace_id="t2", outcome="timeout", input_tokens=0, output_tokens=0),
        event(**TAGS),
    )

    day_rebuild(day=days_ago(1))

    [row] = _rows(days_ago(1))
    assert (row.requests, row.errors, row.traces, row.unpriced) == (4, 2, 2, 0)
    assert (row.input_tokens, row.output_tokens, row.reasoning_tokens) == (4000, 250, 20)
    assert (row.cache_read_tokens, row.cache_write_tokens) == (1000, 500)
    assert row.list_cost == Decimal("0.013875000")
    assert row.billed_cost == Decimal("0.012487500")
    assert row.cache_savings == Decimal("0.001687500")


def test_it_counts_unpriced_events_at_zero_cost(api_key, registered):
    ingest(api_key, event(**TAGS, model="mystery-model"), event(**TAGS, model="mystery-model"))

    day_rebuild(day=days_ago(1))

    [row] = _rows(days_ago(1))
    assert (row.requests, row.unpriced, row.input_tokens) == (2, 2, 2000)
    assert (row.list_cost, row.billed_cost) == (Decimal("0E-9"), Decimal("0E-9"))


def test_it_puts_events_without_a_team_tag_in_the_missing_bucket(api_key, registered):
    ingest(api_key, event(feature="autocomplete"))

    day_rebuild(day=days_ago(1))

    [row] = _rows(days_ago(1))
    assert (row.team, row.unattributed_reason, row.team_tag) == (None, "missing", "")
    assert row.billed_cost == Decimal("0.004500000")


def test_it_puts_events_of_an_unknown_team_in_the_unknown_bucket_with_the_tag(api_key, registered):
    ingest(api_key, event(team="Ghost Team"), event(team="ghost-team"))

    day_rebuild(day=days_ago(1))

    [row] = _rows(days_ago(1))
    assert (row.team, row.unattributed_reason, row.team_tag, row.requests) == (None, "unknown", "ghost-team", 2)


def test_it_keeps_different_unknown_teams_apart(api_key, registered):
    ingest(api_key, event(team="ghost"), event(team="phantom"), event())

    day_rebuild(day=days_ago(1))

    assert sorted((r.unattributed_reason, r.team_tag) for r in _rows(days_ago(1))) == [
        ("missing", ""),
        ("unknown", "ghost"),
        ("unknown", "phantom"),
    ]


def test_rebuilding_a_day_twice_gives_the_same_rows(api_key, registered):
    ingest(api_key, event(**TAGS), event(team="ghost"), event(**{**TAGS, "model": "cheap-model"}), event(**TAGS))
    day = days_ago(1)

    day_rebuild(day=day)
    first = list(DailyRollup.objects.filter(day=day).values().order_by("team_tag", "team_id", "model"))
    day_rebuild(day=day)
    second = list(DailyRollup.objects.filter(day=day).values().order_by("team_tag", "team_id", "model"))

    assert len(first) == 3
    assert [{**r, "id": None} for r in second] == [{**r, "id": None} for r in first]


def test_it_returns_the_number_of_rows_written(api_key, registered):
    ingest(api_key, event(**TAGS), event(team="ghost"), event(**TAGS))

    assert day_rebuild(day=days_ago(1)) == 2


def test_it_leaves_other_days_alone(api_key, registered):
    ingest(api_key, event(**TAGS, day=days_ago(1)), event(**TAGS, day=days_ago(2)))
    day_rebuild(day=days_ago(2))

    day_rebuild(day=days_ago(1))
    day_rebuild(day=days_ago(1))

    assert DailyRollup.objects.get(day=days_ago(2)).requests == 1


def test_a_day_without_events_ends_up_with_no_rows(api_key, registered):
    ingest(api_key, event(**TAGS))
    day_rebuild(day=days_ago(1))
    DailyRollup.objects.update(day=days_ago(3))  # stale rows of a day whose events are gone

    assert day_rebuild(day=days_ago(3)) == 0
    assert not DailyRollup.objects.filter(day=days_ago(3)).exists()
