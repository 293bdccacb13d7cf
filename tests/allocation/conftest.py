"""Fixtures of the allocation tests: a shared platform team and one day of known usage."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import pytest

from apps.allocation.services import day_refresh
from tests.factories import ModelPriceFactory, ProductFactory, SharedCostRuleFactory, TeamFactory
from tests.rollups.events import days_ago, event, ingest, refresh_dirty_days


class Ledger(NamedTuple):
    previous_month: date
    yesterday: date


@pytest.fixture(autouse=True)
def refresh_explicitly(settings):
    # Broker runs refresh in beat, eager runs inline on ingest: off here, so both runs behave alike.
    settings.ROLLUP_REFRESH_ON_INGEST = False


@pytest.fixture
def platform(db):
    return TeamFactory(slug="platform", name="Platform", is_shared=True)


@pytest.fixture
def ads(db):
    """A team that uses nothing."""
    return TeamFactory(slug="ads", name="Ads")


@pytest.fixture
def day():
    return days_ago(1)


@pytest.fixture
def usage(api_key, price, team, other_team, platform, day):
    """One day, not yet refreshed. Method by method the two teams' usage compares differently:

    search:   2 requests, 3,000 tokens, $0.009 billed
    billing:  1 request,  1,000 tokens, $0.015 billed
    platform: 1 request,  4,000 tokens, $0.012 billed (shared)
    """
    ingest(
        api_key,
        event(day=day, team="search", input_tokens=1500, output_tokens=0),
        event(day=day, team="search", input_tokens=1500, output_tokens=0),
        event(day=day, team="billing", input_tokens=0, output_tokens=1000),
        event(day=day, team="platform", input_tokens=4000, output_tokens=0),
    )
    return day


@pytest.fixture
def ledger(api_key, price, team, other_team, platform):
    """Two days in two months, every dimension tagged, refreshed; no rule yet.

    last day of the previous month: search $0.0045 (test-model)
    yesterday: search $0.0045 (test-model), billing $0.0015 (other-model) and $0 (openai, unpriced),
               platform $0.012 (test-model)
    """
    ModelPriceFactory(model="other-model", input_per_mtok=Decimal("1"), output_per_mtok=Decimal("5"))
    ProductFactory(slug="search-ui", team=team)
    ProductFactory(slug="invoices", team=other_team)
    ProductFactory(slug="retrieval", team=platform)
    search = {
        "team": "search",
        "product": "search-ui",
        "feature": "autocomplete",
        "environment": "production",
        "customer": "acme",
        "agent": "ranker",
    }
    billing = {
        "team": "billing",
        "product": "invoices",
        "feature": "dunning",
        "environment": "staging",
        "customer": "globex",
        "agent": "collector",
    }
    days = Ledger(previous_month=days_ago(1).replace(day=1) - timedelta(days=1), yesterday=days_ago(1))
    ingest(
        api_key,
        event(day=days.previous_month, **search),
        event(day=days.yesterday, **search),
        event(day=days.yesterday, model="other-model", **billing),
        event(day=days.yesterday, provider="openai", model="gpt-x", **billing),
        event(
            day=days.yesterday,
            team="platform",
            product="retrieval",
            feature="embeddings",
            environment="production",
            input_tokens=4000,
            output_tokens=0,
        ),
    )
    refresh_dirty_days()
    return days


@pytest.fixture
def allocated_ledger(ledger, platform):
    """The ledger with the platform's $0.012 split by billed cost: search $0.009, billing $0.003."""
    SharedCostRuleFactory(name="Platform by billed cost", source_team=platform)
    day_refresh(day=ledger.yesterday)
    return ledger
