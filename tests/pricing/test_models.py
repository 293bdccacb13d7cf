"""Validation of the price rows and discounts an admin edits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.factories import ModelPriceFactory, NegotiatedDiscountFactory


def test_a_long_context_threshold_needs_long_context_prices():
    with pytest.raises(ValidationError, match="needs long-context input and output prices"):
        ModelPriceFactory.build(long_context_threshold=200_000, long_input_per_mtok=Decimal("6")).clean()


def test_long_context_prices_need_a_threshold():
    with pytest.raises(ValidationError, match="Set the threshold"):
        ModelPriceFactory.build(long_input_per_mtok=Decimal("6"), long_output_per_mtok=Decimal("22.5")).clean()


def test_a_batch_discount_over_100_percent_is_refused():
    with pytest.raises(ValidationError, match="between 0 and 100"):
        ModelPriceFactory.build(batch_discount_percent=Decimal("101")).clean()


def test_a_negotiated_discount_over_100_percent_is_refused():
    with pytest.raises(ValidationError, match="between 0 and 100"):
        NegotiatedDiscountFactory.build(percent_off=Decimal("100.5")).clean()


def test_a_negotiated_discount_must_end_after_it_starts():
    discount = NegotiatedDiscountFactory.build()
    discount.effective_until = discount.effective_from - timedelta(days=1)
    with pytest.raises(ValidationError, match="Must be after the start"):
        discount.clean()
