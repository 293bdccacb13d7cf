"""Fixtures of the budget tests: priced models, spend written through ingestion, locmem email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from .spend import Spend, noon, prices_create, today_start


@pytest.fixture(autouse=True)
def budgets_settings(settings):
    # Rollups are refreshed by `Spend.flush`, the same with an eager or a real broker.
    settings.ROLLUP_REFRESH_ON_INGEST = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def prices(db):
    prices_create()


@pytest.fixture
def spend(prices):
    return Spend()


@pytest.fixture
def runaway_agent(spend, team):
    """research-bot spends $36 a day on Haiku for four weeks; today it adds $300 on Opus and
    $24 more on Haiku: $360 against a typical $36. steady-bot spends $36 every day, today too."""
    today = timezone.now().date()
    for days_ago in range(1, 29):
        day = today - timedelta(days=days_ago)
        spend.add(noon(day), "36", team=team, agent="research-bot")
        spend.add(noon(day), "36", team=team, agent="steady-bot")
    spend.add(today_start(), "60", team=team, agent="research-bot")
    spend.add(today_start(), "300", team=team, agent="research-bot", model="claude-opus-4-1")
    spend.add(today_start(), "36", team=team, agent="steady-bot")
    spend.flush()
    return today
