from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command

from apps.insights.models import Opportunity
from apps.insights.services import (
    LifecycleError,
    opportunities_measure,
    opportunities_refresh,
    opportunity_accept,
    opportunity_dismiss,
    opportunity_done,
    savings_digest_send,
)
from tests.factories import OpportunityFactory

from .usage import TODAY, at


def test_refresh_stores_each_finding_once_and_updates_it_on_the_next_run(usage, team):
    usage.add(team, at(3), times=100, feature="classify")
    usage.flush()

    opportunities_refresh(today=TODAY)
    opportunities_refresh(today=TODAY)

    [routing] = Opportunity.objects.filter(lever="routing")
    assert routing.monthly_saving == Decimal("1.928571429")
    assert routing.status == Opportunity.Status.OPEN


def test_an_open_opportunity_no_longer_found_is_removed(team, prices):
    OpportunityFactory(team=team)

    opportunities_refresh(today=TODAY)

    assert not Opportunity.objects.exists()


def test_a_dismissed_opportunity_stays_dismissed_until_its_saving_doubles(usage, team):
    usage.add(team, at(3), times=100, feature="classify")
    usage.flush()
    opportunities_refresh(today=TODAY)
    routing = Opportunity.objects.get(lever="routing")
    opportunity_dismiss(opportunity=routing, reason="Quality matters more here.")

    usage.add(team, at(4), times=50, feature="classify")
    usage.flush()
    opportunities_refresh(today=TODAY)
    routing.refresh_from_db()
    assert routing.status == Opportunity.Status.DISMISSED
    assert routing.monthly_saving == Decimal("2.892857143")

    usage.add(team, at(5), times=50, feature="classify")
    usage.flush()
    opportunities_refresh(today=TODAY)
    routing.refresh_from_db()
    assert routing.status == Opportunity.Status.OPEN
    assert routing.monthly_saving == Decimal("3.857142857")


def test_the_lifecycle_runs_open_accepted_done(team, lead):
    opportunity = OpportunityFactory(team=team)

    opportunity_accept(opportunity=opportunity, owner=lead)
    opportunity_done(opportunity=opportunity)

    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.owner) == (Opportunity.Status.DONE, lead)


def test_an_open_opportunity_cannot_be_marked_done_before_it_is_accepted(team):
    with pytest.raises(LifecycleError, match="Accept"):
        opportunity_done(opportunity=OpportunityFactory(team=team))


def test_dismissing_needs_a_reason(team):
    with pytest.raises(LifecycleError, match="reason"):
        opportunity_dismiss(opportunity=OpportunityFactory(team=team), reason="  ")


def test_a_planted_fix_shows_its_realised_saving(usage, team, lead):
    usage.add(team, at(25), times=100, feature="classify")
    usage.add(team, at(10), times=100, feature="classify", model="claude-sonnet-4-5")
    usage.flush()
    opportunity = OpportunityFactory(team=team, feature="classify")
    opportunity_accept(opportunity=opportunity, owner=lead)
    opportunity_done(opportunity=opportunity, at=datetime.combine(at(20).date(), time(9), tzinfo=at(20).tzinfo))

    assert opportunities_measure(today=TODAY) == 1

    opportunity.refresh_from_db()
    # $0.0225 a request on Opus before, $0.0045 on Sonnet after: 100 requests × $0.018 × 30/14.
    assert (opportunity.before_unit_cost, opportunity.after_unit_cost) == (
        Decimal("0.022500000"),
        Decimal("0.004500000"),
    )
    assert opportunity.realised_monthly_saving == Decimal("3.857142857")


def test_a_fix_is_not_measured_before_its_14_days_after_are_complete(usage, team, lead):
    opportunity = OpportunityFactory(team=team)
    opportunity_accept(opportunity=opportunity, owner=lead)
    opportunity_done(opportunity=opportunity, at=at(10))

    assert opportunities_measure(today=TODAY) == 0


def test_find_savings_runs_the_detectors_at_once(usage, team, capsys):
    usage.add(team, at(3), times=100, feature="classify")
    usage.flush()

    call_command("find_savings", f"--today={TODAY.isoformat()}")

    assert Opportunity.objects.filter(lever="routing", team=team).exists()
    assert "a month" in capsys.readouterr().out


def test_the_digest_sends_each_teams_leads_their_top_three(team, lead, member):
    for saving in ("5", "40", "30", "20"):
        OpportunityFactory(team=team, monthly_saving=Decimal(saving))

    assert savings_digest_send() == 1

    [email] = mail.outbox
    assert email.to == [lead.email]
    assert "$40.00" in email.body and "$30.00" in email.body and "$20.00" in email.body
    assert "$5.00" not in email.body


def test_a_done_opportunity_keeps_the_estimate_it_was_done_on(usage, team, lead):
    usage.add(team, at(3), times=100, feature="classify")
    usage.flush()
    opportunities_refresh(today=TODAY)
    routing = Opportunity.objects.get(lever="routing")
    opportunity_accept(opportunity=routing, owner=lead)
    opportunity_done(opportunity=routing)

    usage.add(team, at(4), times=100, feature="classify")
    usage.flush()
    opportunities_refresh(today=TODAY)

    routing.refresh_from_db()
    assert (routing.status, routing.monthly_saving) == ("done", Decimal("1.928571429"))
