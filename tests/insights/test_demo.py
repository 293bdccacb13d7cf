"""The demo company plants one opportunity of each lever (drift needs two months of history)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.test.utils import override_settings

from apps.insights.models import Opportunity
from apps.showback.demo import demo_company_build

LEVERS = {
    "routing": ("support", "intent-detection"),
    "caching": ("billing", "pdf-extraction"),
    "batch": ("insights", "nightly-report"),
    "nonprod": ("growth", ""),
    "unbounded_output": ("growth", "reply-draft"),
    "bloated_context": ("support", "kb-lookup"),
    "paid_failures": ("billing", "pdf-extraction"),
    "unit_cost_drift": ("billing", "contract-summary"),
}


# The demo's calls fall by the hour of its last day: a fixed instant gives the same savings to the nano.
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    # Built once for the module (two months take a while) and removed after it.
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(ROLLUP_REFRESH_ON_INGEST=True),
        transaction.atomic(),
    ):
        summary = demo_company_build(days=60, scale=0.1, now=NOW)
        yield summary
        transaction.set_rollback(True)


def test_two_months_of_the_demo_show_every_lever_where_it_was_planted(db, demo):
    found = {(o.lever, o.team.slug, o.feature) for o in Opportunity.objects.select_related("team")}

    assert {(lever, *scope) for lever, scope in LEVERS.items()} <= found, sorted(found)


def test_the_demos_planted_fix_shows_its_realised_saving_beside_the_estimate(db, demo):
    fixed = Opportunity.objects.get(status="done", feature="ticket-summary")

    assert fixed.lever == "routing"
    assert fixed.monthly_saving == Decimal("3.681835714")
    # Opus before, Haiku after: a twentieth of Opus's token prices on the same calls.
    assert fixed.after_unit_cost < fixed.before_unit_cost / 10
    assert fixed.realised_monthly_saving == Decimal("5.892862474")
