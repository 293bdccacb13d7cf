"""The daily savings run on the real stack: a worker finds a routing saving on PostgreSQL, exactly."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from apps.insights.models import Opportunity
from apps.insights.tasks import find_savings
from tests.insights.usage import Usage, at, prices_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _wait_for_routing(team, seconds: float = 60) -> Opportunity:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = Opportunity.objects.filter(lever="routing", team=team).first()
        if found is not None:
            return found
        time.sleep(0.2)
    pytest.fail(f"no routing opportunity after {seconds} s")


def test_a_worker_finds_the_routing_saving_priced_exactly(celery_worker_process, team):
    prices_create()
    usage = Usage()
    usage.add(team, at(3), times=100, feature="classify")
    usage.flush()

    find_savings.delay()

    routing = _wait_for_routing(team)
    assert routing.monthly_saving == Decimal("1.928571429")
    assert routing.evidence["routine_cost_on_cheaper_model"] == "0.450000000"
