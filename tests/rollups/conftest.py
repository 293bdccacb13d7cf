"""Fixtures of the rollup tests: a price list with a discount, and days refreshed only when a test says so."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import ModelPriceFactory


@pytest.fixture(autouse=True)
def refresh_explicitly(settings):
    # Broker runs refresh in beat, eager runs inline on ingest: off here, so both runs behave alike.
    settings.ROLLUP_REFRESH_ON_INGEST = False


@pytest.fixture
def cheap_price(db):
    """anthropic/cheap-model: $1 in, $5 out per million, cache prices falling back to input."""
    return ModelPriceFactory(
        model="cheap-model",
        input_per_mtok=Decimal("1"),
        output_per_mtok=Decimal("5"),
        cache_read_per_mtok=None,
        cache_write_per_mtok=None,
        cache_write_1h_per_mtok=None,
    )
