"""The demo company plants one opportunity of each lever (drift needs two months of history)."""

from __future__ import annotations

import pytest
from django.utils import timezone

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


@pytest.fixture
def demo(db, settings):
    settings.ROLLUP_REFRESH_ON_INGEST = True
    return demo_company_build(days=60, scale=0.1, now=timezone.now())


def test_two_months_of_the_demo_show_every_lever_where_it_was_planted(demo):
    found = {(o.lever, o.team.slug, o.feature) for o in Opportunity.objects.select_related("team")}

    assert {(lever, *scope) for lever, scope in LEVERS.items()} <= found, sorted(found)
