"""The price admin shows prices as money with their unit."""

from __future__ import annotations

import pytest

from tests.factories import ModelPriceFactory

pytestmark = pytest.mark.django_db


def test_the_price_list_shows_dollars_per_million_tokens(admin_client):
    ModelPriceFactory()
    html = admin_client.get("/admin/pricing/modelprice/").content.decode()
    assert "Input ($/MTok)" in html
    assert "$3.00 /MTok" in html
    assert "$15.00 /MTok" in html


def test_the_price_form_labels_each_price_with_its_unit(admin_client):
    html = admin_client.get("/admin/pricing/modelprice/add/").content.decode()
    assert "Cache read ($/MTok)" in html
    assert "Long-context output ($/MTok)" in html
