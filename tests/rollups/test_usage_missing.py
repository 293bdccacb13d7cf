"""day_rebuild counts the calls reported without token counts, so their cost is never a silent $0."""

from __future__ import annotations

import pytest

from apps.rollups.models import DailyRollup
from apps.rollups.services import day_rebuild

from .events import days_ago, event, ingest

pytestmark = pytest.mark.django_db


def test_it_counts_calls_without_usage_in_their_rollup_row(api_key, price):
    ingest(
        api_key,
        event(),
        event(usage_missing=True, input_tokens=0, output_tokens=0),
        event(usage_missing=True, input_tokens=0, output_tokens=0),
    )

    day_rebuild(day=days_ago(1))

    [row] = DailyRollup.objects.filter(day=days_ago(1))
    assert (row.requests, row.usage_missing, row.unpriced) == (3, 2, 0)
