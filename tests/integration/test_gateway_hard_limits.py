"""Hard limits across gateway processes, on a real Redis: a budget crossed through one process
is refused by the other within a second, and each refresh resets the counts to the rollups."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import openai
import pytest
from django.utils import timezone

from tests.budgets.spend import Spend, prices_create, today_start
from tests.factories import ApiKeyFactory, BudgetFactory, ModelPriceFactory

from .processes import GatewayProcess

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]
# The fake provider's chat usage at $2.50 / $1.25 cached / $10 per million: $0.005750 a call.
CALL_NANOS = 5_750_000


@pytest.fixture
def spent(team):
    """Search's $100 hard-limit budget, $99.99 of it spent and rolled up, and the gpt-4o price."""
    ModelPriceFactory(
        provider="openai",
        model="gpt-4o-2024-08-06",
        input_per_mtok=Decimal("2.50"),
        output_per_mtok=Decimal("10"),
        cache_read_per_mtok=Decimal("1.25"),
    )
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), hard_limit=True)
    prices_create()
    spend = Spend()
    spend.add(today_start(), "99.99", team=team)
    spend.flush()
    return ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})


def gateway_start(tmp_path, name: str, redis_server, provider, **env: str) -> GatewayProcess:
    return GatewayProcess(
        log=tmp_path / f"{name}.log",
        env={
            "GATEWAY_REDIS_URL": redis_server.url,
            "GATEWAY_OPENAI_UPSTREAM": provider.url,
            # Nothing is drained: the rollups never see these calls, only the live counts do.
            "GATEWAY_DRAIN_INTERVAL_SECONDS": "3600",
            **env,
        },
    )


def client_of(gateway: GatewayProcess, raw_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/gateway/openai/v1", api_key=raw_key, max_retries=0)


def total_key(team) -> str:
    return f"gateway:spend:{timezone.now():%Y-%m}:team:{team.pk}"


def test_a_budget_crossed_through_one_process_is_refused_by_the_other_within_a_second(
    tmp_path, redis_server, provider, spent, team
):
    first = gateway_start(tmp_path, "first", redis_server, provider)
    second = gateway_start(tmp_path, "second", redis_server, provider)
    try:
        client_of(second, spent.raw_key).chat.completions.create(model="gpt-4o", messages=HI)  # $99.995750
        client_of(first, spent.raw_key).chat.completions.create(model="gpt-4o", messages=HI)  # $100.001500
        crossed = time.monotonic()
        refused_at = None
        while refused_at is None and time.monotonic() - crossed < 1.0:
            try:
                client_of(second, spent.raw_key).chat.completions.create(model="gpt-4o", messages=HI)
            except openai.RateLimitError as exc:
                assert re.search(r"budget of Search \(hard limit\) is spent: \$100\.\d\d of \$100\.00", exc.message)
                refused_at = time.monotonic()
        assert refused_at is not None, "the second process still served the team's calls a second later"
        with pytest.raises(openai.RateLimitError):
            client_of(first, spent.raw_key).chat.completions.create(model="gpt-4o", messages=HI)
    finally:
        first.stop()
        second.stop()
    served = len(provider.requests)
    assert int(redis_server.client().get(total_key(team))) == 99_990_000_000 + served * CALL_NANOS


def test_each_refresh_resets_the_count_to_the_rollups_and_the_calls_they_have_not_seen(
    tmp_path, redis_server, provider, spent, team
):
    redis = redis_server.client()
    gateway = gateway_start(tmp_path, "gateway", redis_server, provider, GATEWAY_BUDGET_REFRESH_SECONDS="0.5")
    try:
        redis.set(total_key(team), 500_000_000_000)  # a count gone wrong: $500 of a $100 budget
        time.sleep(1.5)
        assert int(redis.get(total_key(team))) == 99_990_000_000  # the rollups' figure, no call since

        client_of(gateway, spent.raw_key).chat.completions.create(model="gpt-4o", messages=HI)
        time.sleep(1.5)
        # The call is not in the rollups (never drained): a refresh keeps it counted.
        assert int(redis.get(total_key(team))) == 99_990_000_000 + CALL_NANOS
    finally:
        gateway.stop()
