"""Fixtures for the savings tests: prices, usage and a frozen 'today'."""

from __future__ import annotations

import pytest

from apps.insights.models import SavingsSettings

from .usage import Usage, prices_create


@pytest.fixture
def prices(db):
    prices_create()


@pytest.fixture
def usage(prices):
    return Usage()


@pytest.fixture
def config(db):
    return SavingsSettings.current()
