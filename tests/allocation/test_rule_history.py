"""Editing a rule in the admin leaves closed months as they were allocated, unless asked (and then on record)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django.test import TestCase
from django.utils import timezone

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.allocation.services import day_refresh
from apps.closing.models import MonthReopening
from apps.closing.services import month_close
from apps.usage.models import ClosedMonth
from tests.factories import SharedCostRuleFactory
from tests.rollups.events import event, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_day(api_key, price, team, other_team, platform):
    """The last day of last month: search $0.0045, billing $0.0150, platform $0.0120, split by
    billed cost (search $0.002769231, billing $0.009230769)."""
    day = timezone.now().date().replace(day=1) - timedelta(days=1)
    ingest(
        api_key,
        event(day=day, team="search", input_tokens=1500, output_tokens=0),
        event(day=day, team="billing", input_tokens=0, output_tokens=1000),
        event(day=day, team="platform", input_tokens=4000, output_tokens=0),
    )
    return day


@pytest.fixture
def rule(platform, closed_day):
    """The rule, with last month closed by finance."""
    rule = SharedCostRuleFactory(name="Platform", source_team=platform)
    month_close(month=closed_day, today=timezone.now().date())
    return rule


def _split(day) -> dict[str, tuple[str, str]]:
    return {r.team.slug: (r.method, str(r.amount)) for r in AllocationResult.objects.filter(day=day)}


BY_BILLED_COST = {"search": ("billed_cost", "0.002769231"), "billing": ("billed_cost", "0.009230769")}
EVEN = {"search": ("even", "0.006000000"), "billing": ("even", "0.006000000")}


def _change(admin_client, rule, **fields):
    data = {
        "name": rule.name,
        "source": rule.source,
        "source_team": rule.source_team_id,
        "method": rule.method,
        "all_teams": "on",
        "effective_from": rule.effective_from.isoformat(),
        "targets-TOTAL_FORMS": 0,
        "targets-INITIAL_FORMS": 0,
        "targets-MIN_NUM_FORMS": 0,
        "targets-MAX_NUM_FORMS": 1000,
        **fields,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):  # what the admin queues, once committed
        response = admin_client.post(f"/admin/allocation/sharedcostrule/{rule.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()


def test_the_closed_day_was_split_by_billed_cost(rule, closed_day):
    assert _split(closed_day) == BY_BILLED_COST


def test_a_changed_method_applies_from_this_month_and_the_old_rule_keeps_the_closed_months(
    admin_client, rule, closed_day
):
    _change(admin_client, rule, method="even")

    rule.refresh_from_db()
    kept = SharedCostRule.objects.exclude(pk=rule.pk).get()
    assert (rule.method, rule.effective_from) == ("even", closed_day + timedelta(days=1))
    assert (kept.name, kept.method, kept.effective_until) == ("Platform", "billed_cost", closed_day)
    assert _split(closed_day) == BY_BILLED_COST
    assert set(AllocationResult.objects.filter(day=closed_day).values_list("rule", flat=True)) == {kept.pk}


def test_a_closed_day_refreshed_later_is_split_by_the_rule_as_it_was_then(admin_client, rule, closed_day):
    _change(admin_client, rule, method="even")

    day_refresh(day=closed_day)  # as a late event would make it

    assert _split(closed_day) == BY_BILLED_COST


def test_asking_to_rewrite_closed_months_re_applies_the_changed_rule_to_them(admin_client, rule, closed_day):
    _change(admin_client, rule, method="even", rewrite_closed_months="on", rewrite_reason="Platform is split evenly")

    assert SharedCostRule.objects.count() == 1
    assert _split(closed_day) == EVEN


def test_a_rewrite_reopens_the_month_on_record_and_closing_it_again_records_the_new_totals(
    admin_client, admin_user, rule, closed_day
):
    _change(admin_client, rule, method="even", rewrite_closed_months="on", rewrite_reason="Platform is split evenly")

    reopening = MonthReopening.objects.get()
    assert not ClosedMonth.objects.filter(month=closed_day.replace(day=1)).exists()
    assert (reopening.month, reopening.reopened_by, reopening.reason) == (
        closed_day.replace(day=1),
        admin_user,
        "Platform is split evenly",
    )
    assert (reopening.billed_before, reopening.allocated_before, reopening.billed_after) == (
        Decimal("0.031500000"),
        Decimal("0.012000000"),
        None,
    )

    month_close(month=closed_day, today=timezone.now().date())

    reopening.refresh_from_db()
    assert (reopening.billed_after, reopening.allocated_after) == (Decimal("0.031500000"), Decimal("0.012000000"))
    assert reopening.reclosed_at is not None
    assert _split(closed_day) == EVEN


def test_rewriting_closed_months_needs_a_reason(admin_client, rule, closed_day):
    response = admin_client.post(
        f"/admin/allocation/sharedcostrule/{rule.pk}/change/",
        {
            "name": rule.name,
            "source": rule.source,
            "source_team": rule.source_team_id,
            "method": "even",
            "all_teams": "on",
            "effective_from": rule.effective_from.isoformat(),
            "rewrite_closed_months": "on",
            "targets-TOTAL_FORMS": 0,
            "targets-INITIAL_FORMS": 0,
            "targets-MIN_NUM_FORMS": 0,
            "targets-MAX_NUM_FORMS": 1000,
        },
    )

    assert response.status_code == 200
    assert "Give the reason closed months are rewritten." in response.content.decode()
    assert _split(closed_day) == BY_BILLED_COST
    assert ClosedMonth.objects.filter(month=closed_day.replace(day=1)).exists()


def test_a_closed_day_is_not_re_split_while_no_rule_edit_rewrites_it(rule, closed_day):
    rule.method = "even"
    rule.save()

    day_refresh(day=closed_day)

    assert _split(closed_day) == BY_BILLED_COST


def test_renaming_a_rule_keeps_it_one_rule(admin_client, rule, closed_day):
    _change(admin_client, rule, name="Platform retrieval")

    assert list(SharedCostRule.objects.values_list("name", flat=True)) == ["Platform retrieval"]
    assert _split(closed_day) == BY_BILLED_COST


def test_a_rule_with_allocations_cannot_be_deleted(rule):
    with pytest.raises(ProtectedError):
        rule.delete()
