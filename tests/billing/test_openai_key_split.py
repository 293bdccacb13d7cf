"""OpenAI bills a project; its cost is split over the project's API keys by their usage priced, exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.billing.models import PROVIDER_ONLY, BillingLine
from apps.billing.services import account_sync, scope_map
from apps.billing.splitting import split_largest_remainder
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_rebuild
from tests.factories import ModelPriceFactory

from .fake_admin_api import openai_bucket, openai_cost, openai_usage

COSTS = "/v1/organization/costs"
USAGE = "/v1/organization/usage/completions"
OCT_1 = 1790812800  # 2026-10-01T00:00:00Z


def _usage(key: str, model: str, input_tokens: int, project: str = "proj_a") -> dict:
    return {**openai_usage(project, model, input_tokens=input_tokens, output_tokens=0), "api_key_id": key}


@pytest.fixture
def report(fake_api, db):
    # $3 per million input tokens: key_1's usage prices at $3, key_2's at $6, key_3's at $3 (another model).
    ModelPriceFactory(provider="openai", model="gpt-4o")
    ModelPriceFactory(provider="openai", model="gpt-4o-mini", input_per_mtok=Decimal("1"))
    costs = [
        openai_cost("proj_a", "1.000000001", line_item="gpt-4o-2024-08-06, input"),
        openai_cost("proj_a", "0.5", line_item="gpt-4o-mini, input"),
        openai_cost("proj_b", "2", line_item="gpt-4o, input"),
    ]
    usage = [
        _usage("key_1", "gpt-4o", 1_000_000),
        _usage("key_2", "gpt-4o", 2_000_000),
        _usage("key_3", "gpt-4o-mini", 3_000_000),
    ]
    fake_api.pages[COSTS] = [{"object": "page", "data": [openai_bucket(OCT_1, costs)]}]
    fake_api.pages[USAGE] = [{"object": "page", "data": [openai_bucket(OCT_1, usage)]}]


def test_a_projects_line_is_split_over_its_keys_by_priced_usage_of_its_model(openai_account, report):
    account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    lines = sorted((ln.scope, ln.model, ln.api_key_id, ln.billed_cost) for ln in BillingLine.objects.all())
    # 1.000000001 split 1:2 is 0.333333333⅔ and 0.666666667⅓: the larger remainder, key_1's, gets the last nano-dollar.
    assert lines == [
        ("proj_a", "gpt-4o-2024-08-06", "key_1", Decimal("0.333333334")),
        ("proj_a", "gpt-4o-2024-08-06", "key_2", Decimal("0.666666667")),
        ("proj_a", "gpt-4o-mini", "key_3", Decimal("0.500000000")),
        ("proj_b", "gpt-4o", "", Decimal("2.000000000")),  # no usage by key: kept whole
    ]


def test_the_parts_add_up_to_the_line_exactly(openai_account, report):
    account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    assert sum(ln.billed_cost for ln in BillingLine.objects.filter(scope="proj_a")) == Decimal("1.500000001")


def test_an_api_key_mapping_attributes_its_part(openai_account, report, team):
    account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 1))
    scope_map(provider="openai", scope="key_2", team=team)

    day_rebuild(day=date(2026, 10, 1))

    rows = dict(DailyRollup.objects.filter(model=PROVIDER_ONLY).values_list("team_id", "billed_cost"))
    assert rows == {team.id: Decimal("0.666666667"), None: Decimal("2.833333334")}


def test_the_split_gives_leftover_nano_dollars_to_the_largest_remainders():
    parts = split_largest_remainder(Decimal("0.000000010"), {"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)})

    assert parts == {"a": Decimal("0.000000004"), "b": Decimal("0.000000003"), "c": Decimal("0.000000003")}
