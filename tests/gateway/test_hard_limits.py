"""Hard limits count each recorded call at once, so a budget crossed between refreshes stops its calls."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest

from apps.usage.models import UsageEvent
from tests.budgets.spend import Spend, prices_create, today_start
from tests.factories import BudgetFactory

from .conftest import openai_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]
# The fake provider's chat usage at the `prices` fixture's gpt-4o price:
# (1200 - 200) × $2.50 + 200 × $1.25 + 300 × $10 per million tokens.
CALL_COST = Decimal("0.005750000")


def test_a_call_that_crosses_the_limit_stops_the_next_one_without_a_refresh(
    gateway_server, provider, api_key, team, prices
):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), hard_limit=True)
    prices_create()
    spend = Spend()
    spend.add(today_start(), "99.99", team=team)
    spend.flush()
    gateway_server.refresh()
    client = openai_for(gateway_server, api_key.raw_key)

    client.chat.completions.create(model="gpt-4o", messages=HI)  # $99.995750
    client.chat.completions.create(model="gpt-4o", messages=HI)  # $100.001500: crossed
    with pytest.raises(openai.RateLimitError, match=r"budget of Search \(hard limit\) is spent: \$100.00 of \$100.00"):
        client.chat.completions.create(model="gpt-4o", messages=HI)

    assert len(provider.requests) == 2
    counted = gateway_server.gateway.recorder.spend.totals[("team", team.pk)]
    assert counted == 99_990_000_000 + 2 * 5_750_000
    stored = UsageEvent.objects.filter(source="gateway").values_list("billed_cost", flat=True)
    assert list(stored) == [CALL_COST, CALL_COST]  # what the gateway counted is what ingestion priced


def test_calls_of_a_budget_not_marked_hard_limit_are_not_counted(gateway_server, provider, api_key, team, prices):
    BudgetFactory(team=team, monthly_amount=Decimal("0.01"), hard_limit=False)
    gateway_server.refresh()
    client = openai_for(gateway_server, api_key.raw_key)

    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", messages=HI)

    assert len(provider.requests) == 3
    assert gateway_server.gateway.recorder.spend.totals == {}


def test_calls_in_flight_expected_to_reach_the_limit_hold_back_the_next_one(
    gateway_server, provider, api_key, team, prices
):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), hard_limit=True)
    prices_create()
    spend = Spend()
    spend.add(today_start(), "99.99", team=team)
    spend.flush()
    gateway_server.refresh()
    client = openai_for(gateway_server, api_key.raw_key)
    client.chat.completions.create(model="gpt-4o", messages=HI)  # $99.995750 counted; $0.005750 a call here

    provider.delay = 1.0
    with ThreadPoolExecutor(max_workers=1) as pool:
        under_way = pool.submit(client.chat.completions.create, model="gpt-4o", messages=HI)
        while len(provider.requests) < 2:
            time.sleep(0.01)
        with pytest.raises(openai.RateLimitError, match=r"spent by the calls in flight: \$100.00 counted and 1 calls"):
            client.chat.completions.create(model="gpt-4o", messages=HI)
        under_way.result()

    assert len(provider.requests) == 2
    assert gateway_server.gateway.recorder.spend.in_flight[("team", team.pk)] == 0
