"""MoneyField: exact nine-place amounts, stored as integer nano-dollars, summed exactly in SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, UsageEventFactory

pytestmark = pytest.mark.django_db


def stored(amount: Decimal) -> Decimal:
    event = UsageEventFactory(billed_cost=amount)
    event.refresh_from_db()
    return event.billed_cost


def test_it_reads_back_exactly_nine_places():
    amount = stored(Decimal("0.0045"))
    assert (amount, amount.as_tuple().exponent) == (Decimal("0.004500000"), -9)


def test_it_keeps_eighteen_significant_digits_exactly():
    assert stored(Decimal("123456789.123456789")) == Decimal("123456789.123456789")


@pytest.mark.parametrize(
    ("amount", "kept"),
    [(Decimal("0.0000000025"), Decimal("0.000000002")), (Decimal("0.0000000035"), Decimal("0.000000004"))],
)
def test_it_rounds_half_even_beyond_nine_places(amount, kept):
    assert stored(amount) == kept


def test_it_stores_an_integer_count_of_nano_dollars():
    event = UsageEventFactory(billed_cost=Decimal("0.0045"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT billed_cost FROM {UsageEvent._meta.db_table} WHERE id = %s", [event.id])
        assert cursor.fetchone() == (4_500_000,)


def test_a_sum_is_exact_where_floats_would_drift():
    key = ApiKeyFactory()
    amounts = [Decimal("0.1")] * 10 + [Decimal("0.000000001")] * 3
    UsageEvent.objects.bulk_create(UsageEventFactory.build(api_key=key, billed_cost=amount) for amount in amounts)
    assert UsageEvent.objects.aggregate(total=Sum("billed_cost"))["total"] == Decimal("1.000000003")
