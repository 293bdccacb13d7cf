"""The negotiation brief: a year of consumption by model family, the forecast band, the savings on
the provider's spend, and the commitment they support, with the rule stated; and its CSV."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from apps.showback.selectors.commitment import negotiation_brief
from tests.factories import DailyRollupFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

MONTHLY = {  # anthropic's claude-sonnet spend, November 2025 to October 2026
    date(2025, 11, 1): "50",
    date(2025, 12, 1): "50",
    **{date(2026, month, 1): "50" for month in (1, 2, 3, 4)},
    date(2026, 5, 1): "100",
    date(2026, 6, 1): "100",
    date(2026, 7, 1): "100",
    date(2026, 8, 1): "120",
    date(2026, 9, 1): "120",
    date(2026, 10, 1): "120",
}


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        yield


@pytest.fixture
def year_of_spend(team):
    for month, amount in MONTHLY.items():
        DailyRollupFactory(
            team=team, day=month.replace(day=10), model_family="claude-sonnet", billed_cost=Decimal(amount)
        )
    # This month: $28 in the savings window ($30 a month) for classify, whose routing saves $6 a month.
    DailyRollupFactory(team=team, day=date(2026, 11, 10), feature="classify", billed_cost=Decimal("28"))
    OpportunityFactory(team=team, provider="anthropic", feature="classify", monthly_saving=Decimal("6"))


def test_the_commitment_is_the_band_low_edge_less_the_savings(year_of_spend):
    brief = negotiation_brief(provider="anthropic", today=date(2026, 11, 20))

    assert (brief.months[0], brief.months[-1], len(brief.months)) == (date(2025, 11, 1), date(2026, 10, 1), 12)
    assert [(f.family, f.trend) for f in brief.families] == [("claude-sonnet", Decimal("0.2"))]
    assert brief.monthly_totals[-3:] == [Decimal("120")] * 3
    # Aug–Oct average; May–Oct strayed ±9.09% from $110, so the band is the ±10% floor.
    assert (brief.forecast, brief.band, brief.low, brief.high) == (
        Decimal("120.00"),
        Decimal("0.1000"),
        Decimal("108.00"),
        Decimal("132.00"),
    )
    assert brief.savings == Decimal("6.00")
    assert brief.commitment == Decimal("1224.00")  # 108 × 12 − 6 × 12
    assert brief.outside == Decimal("216.00")  # 120 × 12 − 1,224


def test_finance_reads_the_brief_and_downloads_it(year_of_spend, finance, as_user):
    client = as_user(finance)

    page = client.get("/overview/commitment/?provider=anthropic").content.decode()
    csv = client.get("/overview/commitment.csv?provider=anthropic").content.decode().splitlines()

    assert 'data-testid="commitment">$1,224.00<' in page
    assert "$108.00 × 12 − $6.00 × 12 =" in page
    assert csv[0] == "provider,section,month,model_family,amount"
    assert "anthropic,consumption,2026-10,claude-sonnet,120.000000000" in csv
    assert csv[-2:] == [
        "anthropic,recommended_commitment,,,1224.00",
        "anthropic,outside_commitment_at_forecast,,,216.00",
    ]


def test_an_unknown_provider_is_a_400_naming_the_field(year_of_spend, finance, as_user):
    response = as_user(finance).get("/overview/commitment/?provider=nobody")

    assert response.status_code == 400
    assert "provider: give one of the providers with spend (anthropic)." in response.content.decode()


def test_the_brief_is_for_finance(year_of_spend, lead, as_user):
    assert as_user(lead).get("/overview/commitment/?provider=anthropic").status_code == 403
