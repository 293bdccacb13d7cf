"""The daily pull on the real stack: a Celery worker process pulls a fake admin API over HTTP, the
day is rebuilt with the provider-only remainder, and the costs total equals the bill exactly."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest

from apps.allocation.selectors import costs_report
from apps.billing.models import PROVIDER_ONLY, BillingLine, ProviderAccount
from apps.billing.tasks import sync_provider_costs
from apps.rollups.models import DailyRollup
from tests.billing.fake_admin_api import FakeAdminApi, anthropic_cost, anthropic_cost_bucket
from tests.factories import ApiKeyFactory, ModelPriceFactory, TeamFactory
from tests.rollups.events import days_ago, event, ingest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_worker_pulls_the_bill_and_the_remainder_joins_the_rollups(celery_worker_process, settings):
    settings.ROLLUP_REFRESH_ON_INGEST = False
    ModelPriceFactory()
    key = ApiKeyFactory(team=TeamFactory(slug="search"))
    day = days_ago(1)
    ingest(key, *(event(day=day, team="search") for _ in range(3)))  # 3 × $0.0045
    with FakeAdminApi() as api:
        api.failures["/v1/organizations/cost_report"] = [429]
        bucket = anthropic_cost_bucket(day.isoformat(), (day + timedelta(days=1)).isoformat(), [])
        bucket["results"] = [anthropic_cost("wrkspc_a", "1.5"), anthropic_cost("wrkspc_b", "0.0000001")]
        api.pages["/v1/organizations/cost_report"] = [{"data": [bucket]}]
        api.pages["/v1/organizations/usage_report/messages"] = [{"data": []}]
        account = ProviderAccount(provider="anthropic", name="main", api_base=api.url)
        account.api_key = "sk-ant-admin"
        account.save()

        sync_provider_costs.delay()

        deadline = time.monotonic() + 30
        while not DailyRollup.objects.filter(day=day, model=PROVIDER_ONLY).exists():
            if time.monotonic() > deadline:
                pytest.fail(f"no provider-only row; account error: {ProviderAccount.objects.get().last_error!r}")
            time.sleep(0.25)

    # 1.5 cents and 0.0000001 cents: $0.015000001 billed against 3 × $0.0045 recorded.
    assert sum(BillingLine.objects.values_list("billed_cost", flat=True)) == Decimal("0.015000001")
    assert DailyRollup.objects.get(day=day, model=PROVIDER_ONLY).billed_cost == Decimal("0.001500001")
    total = costs_report(start=day, end=day, group_by=[], filters={}, team_ids=None).total.total
    assert total == Decimal("0.015000001")
