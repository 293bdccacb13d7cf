"""Budgets in force, thresholds and forecasts raising alerts once, and their email delivery."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.allocation.models import SharedCostRule
from apps.budgets.models import Alert, Budget, Delivery
from apps.budgets.selectors import budgets_in_force
from apps.budgets.services import anomalies_alert, budgets_check, spend_check
from tests.factories import (
    AnomalyFactory,
    BudgetFactory,
    ProductFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
)

from .spend import noon, today_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def month():
    return f"{timezone.now():%Y-%m}"


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    """budgets_check for today, with the deliveries it queues on commit run (eagerly)."""

    def run() -> list[Alert]:
        with django_capture_on_commit_callbacks(execute=True):
            return budgets_check(today=timezone.now().date())

    return run


def _thresholds(alerts) -> list[str]:
    return sorted(a.period for a in alerts if a.kind == Alert.Kind.THRESHOLD)


def test_the_budget_in_force_is_the_latest_one_started_by_the_month(team):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), effective_from=date(2026, 1, 1))
    in_force = BudgetFactory(team=team, monthly_amount=Decimal("200.00"), effective_from=date(2026, 5, 1))
    BudgetFactory(team=team, monthly_amount=Decimal("300.00"), effective_from=date(2026, 7, 1))

    assert budgets_in_force(month=date(2026, 6, 1)) == [in_force]


def test_each_scope_has_its_own_budget_in_force(team):
    answers = ProductFactory(slug="answers", team=team)
    team_budget = BudgetFactory(team=team, effective_from=date(2026, 1, 1))
    product_budget = BudgetFactory(team=team, product=answers, effective_from=date(2026, 3, 1))
    organisation_budget = BudgetFactory(team=None, effective_from=date(2025, 12, 1))

    assert set(budgets_in_force(month=date(2026, 6, 1))) == {team_budget, product_budget, organisation_budget}


def test_a_budget_starting_mid_month_applies_from_the_first(team):
    budget = BudgetFactory(team=team, effective_from=date(2026, 6, 17))

    assert budget.effective_from == date(2026, 6, 1)
    assert budgets_in_force(month=date(2026, 6, 1)) == [budget]


def test_thresholds_crossed_at_once_raise_one_alert_naming_the_highest(check, spend, team, month):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    spend.add(today_start(), "150", team=team)
    spend.flush()

    [alert] = [a for a in check() if a.kind == Alert.Kind.THRESHOLD]  # (its forecast is over too)

    assert (alert.subject, alert.period) == ("team:search", f"{month}@100%")
    assert alert.message == f"Search has used 150% of its {month} budget, past its 100% threshold: $150.00 of $100.00."


def test_each_threshold_crossed_on_its_own_raises_its_alert(check, spend, team, month):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    spend.add(today_start(), "55", team=team)
    spend.flush()
    assert _thresholds(check()) == [f"{month}@50%"]
    spend.add(today_start(), "30", team=team)
    spend.flush()
    assert _thresholds(check()) == [f"{month}@80%"]


def test_a_threshold_alert_says_how_much_of_the_budget_is_used(check, spend, team, month):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), thresholds=[80])
    spend.add(today_start(), "85", team=team)
    spend.flush()

    [alert] = check()

    assert alert.message == f"Search has used 85% of its {month} budget, past its 80% threshold: $85.00 of $100.00."


def test_checking_again_raises_nothing_new(check, spend, team):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    spend.add(today_start(), "85", team=team)
    spend.flush()
    check()

    assert check() == []
    assert Alert.objects.count() == 1


def test_crossing_the_next_threshold_later_raises_only_that_one(check, spend, team, month):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    spend.add(today_start(), "85", team=team)
    spend.flush()
    check()
    spend.add(today_start(), "15", team=team)
    spend.flush()

    assert _thresholds(check()) == [f"{month}@100%"]
    assert Alert.objects.filter(kind=Alert.Kind.THRESHOLD).count() == 2


def test_a_forecast_above_the_budget_raises_a_forecast_alert(check, spend, team, month):
    # $20 every day for the last month: the forecast is $20 × the days of this month.
    today = timezone.now().date()
    for days_ago in range(1, 32):
        spend.add(noon(today - timedelta(days=days_ago)), "20", team=team)
    spend.add(today_start(), "20", team=team)
    spend.flush()
    BudgetFactory(team=team, monthly_amount=Decimal("500.00"), thresholds=[1000])
    forecast = Decimal(20 * calendar.monthrange(today.year, today.month)[1])

    [alert] = check()

    assert (alert.kind, alert.subject, alert.period) == (Alert.Kind.FORECAST, "team:search", month)
    assert alert.message.startswith(f"Search is forecast to spend ${forecast:,}.00 in {month} (between $")
    assert alert.message.endswith("over its $500.00 budget.")


def test_a_forecast_within_the_budget_raises_nothing(check, spend, team):
    spend.add(today_start(), "20", team=team)
    spend.flush()
    BudgetFactory(team=team, monthly_amount=Decimal("500.00"))

    assert check() == []


@pytest.fixture
def shared_platform(spend, team, other_team):
    """Today: search and billing spend $60 each; the platform team's $60 is split $30 / $30."""
    platform = TeamFactory(slug="platform", name="Platform", is_shared=True)
    SharedCostRule.objects.create(
        name="Platform", source="shared_team", source_team=platform, effective_from=date(2020, 1, 1)
    )
    for owner in (team, other_team, platform):
        spend.add(today_start(), "60", team=owner)
    spend.flush()


def test_a_budget_counts_allocated_shared_costs_by_default(check, shared_platform, team, month):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), thresholds=[80])

    [alert] = check()

    assert alert.message == f"Search has used 90% of its {month} budget, past its 80% threshold: $90.00 of $100.00."


def test_a_budget_without_allocated_costs_counts_only_direct_spend(check, shared_platform, team, month):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), include_allocated=False)

    alerts = check()

    assert _thresholds(alerts) == [f"{month}@50%"]
    assert alerts[0].message == f"Search has used 60% of its {month} budget, past its 50% threshold: $60.00 of $100.00."


def test_a_product_budget_counts_the_products_spend_only(check, spend, team, lead, month):
    answers = ProductFactory(slug="answers", name="Answers", team=team)
    BudgetFactory(team=team, product=answers, monthly_amount=Decimal("50.00"), thresholds=[50])
    spend.add(today_start(), "30", team=team, product="answers")
    spend.add(today_start(), "90", team=team)
    spend.flush()

    [alert] = check()

    assert (alert.subject, alert.team) == ("product:answers", team)
    assert (
        alert.message
        == f"Answers (Search) has used 60% of its {month} budget, past its 50% threshold: $30.00 of $50.00."
    )
    assert [m.to for m in mail.outbox] == [[lead.email]]


def test_an_organisation_budget_counts_every_team(check, spend, team, other_team, month):
    BudgetFactory(team=None, monthly_amount=Decimal("200.00"), thresholds=[50])
    spend.add(today_start(), "60", team=team)
    spend.add(today_start(), "60", team=other_team)
    spend.flush()

    [alert] = check()

    assert (alert.subject, alert.team) == ("organisation", None)
    assert (
        alert.message == f"Organisation has used 60% of its {month} budget, past its 50% threshold: $120.00 of $200.00."
    )


def test_an_organisation_alert_is_emailed_to_finance_not_to_team_leads(check, spend, team, lead, finance):
    BudgetFactory(team=None, monthly_amount=Decimal("200.00"), thresholds=[50])
    spend.add(today_start(), "120", team=team)
    spend.flush()

    check()

    assert [m.to for m in mail.outbox] == [[finance.email]]


def test_a_team_alert_is_emailed_to_the_leads_of_the_team_only(
    check, spend, team, other_team, lead, member, finance, month
):
    TeamMembershipFactory(team=other_team, user=UserFactory(username="billing-lead"), role="lead")
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), thresholds=[50])
    spend.add(today_start(), "60", team=team)
    spend.flush()

    check()

    [email] = mail.outbox
    assert email.to == [lead.email]
    assert email.subject == "[LLM spend] Budget threshold crossed"
    assert email.body == f"Search has used 60% of its {month} budget, past its 50% threshold: $60.00 of $100.00."


def test_each_delivery_is_recorded_as_sent(check, spend, team, lead):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    spend.add(today_start(), "85", team=team)
    spend.flush()

    check()

    assert list(Delivery.objects.values_list("channel", "target", "status", "attempts", "last_error")) == [
        ("email", lead.email, "sent", 1, ""),
    ]
    assert not Delivery.objects.filter(sent_at__isnull=True).exists()


def test_deliveries_wait_for_the_alert_to_commit(django_capture_on_commit_callbacks, spend, team, lead):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), thresholds=[50])
    spend.add(today_start(), "60", team=team)
    spend.flush()

    with django_capture_on_commit_callbacks() as callbacks:
        budgets_check(today=timezone.now().date())

    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    assert len(callbacks) == 1


def test_a_repeated_alert_is_not_emailed_again(check, spend, team, lead):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    spend.add(today_start(), "85", team=team)
    spend.flush()
    check()
    check()

    assert len(mail.outbox) == 1


def test_the_spend_check_raises_an_anomaly_alert_linked_to_its_anomaly(
    django_capture_on_commit_callbacks, runaway_agent, lead
):
    with django_capture_on_commit_callbacks(execute=True):
        alerts = spend_check()

    alert = next(a for a in alerts if a.subject == "agent:research-bot")
    assert (alert.kind, alert.period) == (Alert.Kind.ANOMALY, runaway_agent.isoformat())
    assert alert.message == alert.anomaly.explanation
    assert alert.message in [m.body for m in mail.outbox]


def test_the_spend_check_raises_nothing_the_second_time(django_capture_on_commit_callbacks, runaway_agent, team):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    with django_capture_on_commit_callbacks(execute=True):
        first = spend_check()
        second = spend_check()

    assert first
    assert second == []
    assert Alert.objects.count() == len(first)


def test_a_runaway_flagged_hour_after_hour_alerts_once_a_day(team):
    today = timezone.now().date()
    hours = [AnomalyFactory(team=team, subject="crawler", day=today, hour=h) for h in (3, 4, 5)]
    daily = AnomalyFactory(team=team, subject="crawler", day=today)

    alerts = anomalies_alert(anomalies=[*hours, daily])

    assert sorted(a.period for a in alerts) == [today.isoformat(), f"{today.isoformat()}/hourly"]
    assert anomalies_alert(anomalies=[AnomalyFactory(team=team, subject="crawler", day=today, hour=6)]) == []


@pytest.mark.parametrize("scope", ["organisation", "team"])
def test_a_second_budget_for_the_same_scope_and_month_is_refused(scope, team):
    owner = {"team": team} if scope == "team" else {"team": None}
    BudgetFactory(**owner, monthly_amount=Decimal("100.00"))
    again = Budget(**owner, monthly_amount=Decimal("200.00"), effective_from=timezone.now().date())

    with pytest.raises(ValidationError, match="already has a budget from that month"):
        again.full_clean()
