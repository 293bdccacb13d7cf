"""Savings that add up: overlapping levers on the same spend are combined, each priced on what the
ones before it left, and the organisation's total never exceeds the spend it is drawn from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.insights.combining import combined_savings
from apps.insights.models import Opportunity
from tests.factories import DailyRollupFactory, OpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)  # the window: 23 Oct to 19 Nov


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        yield


def _spend(team, amount: str, day: int = 10, **scope) -> None:
    DailyRollupFactory(team=team, day=date(2026, 11, day), billed_cost=Decimal(amount), **scope)


def _lever(team, lever: str, saving: str, **scope) -> Opportunity:
    return OpportunityFactory(
        team=team, lever=lever, fingerprint=f"{lever}|{scope}", monthly_saving=Decimal(saving), **scope
    )


@pytest.fixture
def search_savings(team):
    """search spends $3,000 a month on deep-research and $1,500 on ask ($2,800 and $1,400 in the 28
    days); deep-research has three levers found at $4,800 together, the team a $4,000 one."""
    _spend(team, "2800", feature="deep-research")
    _spend(team, "1400", day=11, feature="ask")
    _lever(team, "routing", "2400", feature="deep-research")
    _lever(team, "caching", "1500", feature="deep-research")
    _lever(team, "batch", "900", feature="deep-research")
    _lever(team, "nonprod", "4000", feature="")
    _lever(team, "unit_cost_drift", "500", feature="ask")
    dismissed = _lever(team, "paid_failures", "700", feature="ask")
    dismissed.status = Opportunity.Status.DISMISSED
    dismissed.save()


def test_the_levers_of_one_scope_apply_in_turn_to_what_the_ones_before_left(search_savings):
    rows = combined_savings(today=TODAY)

    feature = next(r for r in rows if r.feature == "deep-research")
    assert feature.spend == Decimal("3000.000000000")
    assert feature.levers == ["Model routing", "Prompt caching", "Batch API"]
    # 80% of $3,000; then 50% of the $600 left; then 30% of the $300 left.
    assert [s.saving for s in feature.steps] == [Decimal("2400.000000000"), Decimal("300.000000000"), Decimal("90")]
    assert (feature.found, feature.saving) == (Decimal("4800"), Decimal("2790.000000000"))


def test_a_wider_scope_draws_only_on_what_the_narrower_ones_left(search_savings):
    team_row = next(r for r in combined_savings(today=TODAY) if r.feature == "")

    assert team_row.label == "the whole team"
    assert (team_row.spend, team_row.drawn_from) == (Decimal("4500.000000000"), Decimal("1710.000000000"))
    # $4,000 of $4,500 is 8/9 of the team's spend: 8/9 of the $1,710 deep-research's levers left.
    assert team_row.saving == Decimal("1520.000000000")


def test_drift_and_dismissed_opportunities_are_not_savings(search_savings):
    rows = combined_savings(today=TODAY)

    assert [r.feature for r in rows] == ["deep-research", ""]
    assert sum(r.saving for r in rows) == Decimal("4310.000000000")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spends=st.lists(st.integers(min_value=0, max_value=10**6), min_size=3, max_size=3),
    levers=st.lists(
        st.tuples(
            st.sampled_from(["routing", "caching", "batch", "nonprod", "paid_failures", "bloated_context"]),
            st.sampled_from(["", "answers"]),
            st.sampled_from(["", "ask", "summarise"]),
            st.sampled_from(["", "bot"]),
            st.integers(min_value=1, max_value=10**7),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda t: t[:4],
    ),
)
def test_the_organisation_total_never_exceeds_the_spend_it_is_drawn_from(team, spends, levers):
    with transaction.atomic():
        product = ProductFactory(team=team, slug="answers")
        for amount, (feature, agent) in zip(spends, [("ask", ""), ("summarise", "bot"), ("", "")], strict=True):
            _spend(team, str(amount), feature=feature, agent=agent, product=product if feature == "ask" else None)
        for lever, product_slug, feature, agent, cents in levers:
            scope = {"feature": feature, "agent": agent, "product": product if product_slug else None}
            OpportunityFactory(
                team=team,
                lever=lever,
                fingerprint=f"{lever}|{product_slug}|{feature}|{agent}",
                monthly_saving=Decimal(cents) / 100,
                **scope,
            )

        rows = combined_savings(today=TODAY)

        team_spend = (Decimal(sum(spends)) * 30 / 28).quantize(Decimal("1E-9"))
        assert sum((r.saving for r in rows), Decimal(0)) <= team_spend
        assert all(Decimal(0) <= r.saving <= r.drawn_from <= r.spend for r in rows)
        transaction.set_rollback(True)
