"""Reconciliation inside the rollup rebuild: the remainder enters the rollups, over-recording is a negative line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.allocation.selectors import costs_report
from apps.billing.models import NOT_BILLED, PROVIDER_ONLY, BillingLine, ProviderReport, Reconciliation, UsageLine
from apps.billing.services import scope_map
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.rollups.services import day_rebuild
from tests.factories import ApiKeyFactory, ModelPriceFactory, ProductFactory, UsageEventFactory

DAY = date(2026, 10, 1)


def _event(team, cost: str, provider: str = "anthropic"):
    UsageEventFactory(
        api_key=ApiKeyFactory(team=team),
        timestamp=datetime(2026, 10, 1, 9, tzinfo=UTC),
        provider=provider,
        team=team,
        billed_cost=Decimal(cost),
        list_cost=Decimal(cost),
    )


def _line(scope: str, cost: str, provider: str = "anthropic"):
    return BillingLine.objects.create(
        source="api", provider=provider, day=DAY, scope=scope, billed_cost=Decimal(cost), effective_cost=Decimal(cost)
    )


def _total() -> Decimal:
    return costs_report(start=DAY, end=DAY, group_by=[], filters={}, team_ids=None).total.total


def test_unmapped_remainder_enters_the_rollups_unattributed(team):
    _event(team, "10.000000001")
    _line("wrkspc_a", "12.5")

    day_rebuild(day=DAY)

    row = DailyRollup.objects.get(model=PROVIDER_ONLY)
    assert (row.team_id, row.api_key_id, row.unattributed_reason) == (None, None, "provider")
    assert row.billed_cost == Decimal("2.499999999")
    assert _total() == Decimal("12.500000000")


def test_a_mapped_scope_puts_the_remainder_on_its_team_and_product(team, other_team):
    product = ProductFactory(team=other_team, slug="invoices")
    _event(team, "4")
    _event(other_team, "1")
    _line("wrkspc_search", "4")
    _line("wrkspc_billing", "3.25")
    scope_map(provider="anthropic", scope="wrkspc_search", team=team)
    scope_map(provider="anthropic", scope="wrkspc_billing", team=other_team, product=product)

    day_rebuild(day=DAY)

    remainder = DailyRollup.objects.get(model=PROVIDER_ONLY)
    assert (remainder.team_id, remainder.product_id, remainder.billed_cost) == (
        other_team.id,
        product.id,
        Decimal("2.250000000"),
    )
    breakdown = DailyBreakdown.objects.get(team=other_team, dimension="model", value=PROVIDER_ONLY)
    assert breakdown.billed_cost == Decimal("2.250000000")
    assert _total() == Decimal("7.250000000")


def test_recorded_beyond_the_bill_is_a_negative_line_on_the_team_that_recorded_it(team):
    _event(team, "5")
    _line("wrkspc_a", "4")

    day_rebuild(day=DAY)

    rec = Reconciliation.objects.get()
    assert (rec.remainder, rec.over_recorded, rec.not_billed) == (
        Decimal("0E-9"),
        Decimal("1.000000000"),
        Decimal("1.000000000"),
    )
    assert "No usage report" in rec.cause
    assert not DailyRollup.objects.filter(model=PROVIDER_ONLY).exists()
    negative = DailyRollup.objects.get(model=NOT_BILLED)
    assert (negative.team_id, negative.api_key_id, negative.billed_cost) == (team.id, None, Decimal("-1.000000000"))
    assert _total() == Decimal("4.000000000")


def test_a_partial_day_keeps_its_over_recording_as_recorded(team):
    _event(team, "5")
    BillingLine.objects.create(
        source="api",
        provider="anthropic",
        day=DAY,
        scope="wrkspc_a",
        billed_cost=Decimal("4"),
        effective_cost=Decimal("4"),
        is_partial=True,
    )

    day_rebuild(day=DAY)

    rec = Reconciliation.objects.get()
    assert (rec.over_recorded, rec.not_billed) == (Decimal("1.000000000"), Decimal("0E-9"))
    assert rec.cause.startswith("The provider's day was not over")
    assert _total() == Decimal("5.000000000")


@pytest.fixture
def usage_report(db, anthropic_account):
    # 1M input tokens at $3 per million: the provider's own count prices at $3.
    ModelPriceFactory(model="claude-sonnet-4")
    UsageLine.objects.create(
        account=anthropic_account,
        provider="anthropic",
        day=DAY,
        scope="wrkspc_a",
        model="claude-sonnet-4",
        input_tokens=1_000_000,
    )


def test_over_recording_close_to_the_priced_usage_report_is_double_reporting(team, usage_report):
    _event(team, "6")
    _line("wrkspc_a", "3")

    day_rebuild(day=DAY)

    rec = Reconciliation.objects.get()
    assert rec.usage_priced == Decimal("3.000000000")
    assert rec.cause.startswith("Double reporting likely")


def test_over_recording_matching_the_priced_usage_report_is_a_price_or_discount(team, usage_report):
    _event(team, "3")
    _line("wrkspc_a", "2.70")

    day_rebuild(day=DAY)

    assert Reconciliation.objects.get().cause.startswith("Price or discount likely")


def test_a_provider_without_a_bill_is_not_reconciled(team):
    _event(team, "5", provider="openai")
    _line("wrkspc_a", "1")

    day_rebuild(day=DAY)

    assert list(Reconciliation.objects.values_list("provider", flat=True)) == ["anthropic"]
    assert _total() == Decimal("6.000000000")


def test_a_rebuild_after_late_events_shrinks_the_remainder(team):
    _line("wrkspc_a", "10")
    day_rebuild(day=DAY)
    _event(team, "7")

    day_rebuild(day=DAY)

    assert DailyRollup.objects.get(model=PROVIDER_ONLY).billed_cost == Decimal("3.000000000")
    assert _total() == Decimal("10.000000000")


def test_the_same_scope_name_at_two_providers_maps_separately(team, other_team):
    _line("shared-name", "2", provider="aws.bedrock")
    _line("shared-name", "3", provider="gcp.vertex_ai")
    scope_map(provider="aws.bedrock", scope="shared-name", team=team)
    scope_map(provider="gcp.vertex_ai", scope="shared-name", team=other_team)

    day_rebuild(day=DAY)

    assert sorted(DailyRollup.objects.values_list("provider", "team_id", "billed_cost")) == [
        ("aws.bedrock", team.id, Decimal("2.000000000")),
        ("gcp.vertex_ai", other_team.id, Decimal("3.000000000")),
    ]


def test_a_pulled_day_the_provider_billed_nothing_flags_what_events_recorded(team, anthropic_account):
    ProviderReport.objects.create(account=anthropic_account, endpoint="cost_report", start=DAY, end=DAY)
    _event(team, "0.25")

    day_rebuild(day=DAY)

    rec = Reconciliation.objects.get()
    assert (rec.billed, rec.recorded, rec.over_recorded) == (Decimal("0E-9"), Decimal("0.25"), Decimal("0.25"))
    assert rec.cause.startswith("No usage report")
    assert _total() == Decimal("0E-9")
