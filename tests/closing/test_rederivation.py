"""Re-attribution after a registry change, and the rollup rebuild command, leave closed months as they were."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from apps.closing.changes import registry_change
from apps.closing.services import month_close
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.rollups.services import dirty_days
from apps.usage.models import DirtyMark, UsageEvent
from tests.factories import TeamFactory
from tests.rollups.events import event, ingest, refresh_dirty_days

from .conftest import billed

pytestmark = pytest.mark.django_db


def _team_spend(day):
    return {(r.team_id, r.team_tag): r.billed_cost for r in DailyRollup.objects.filter(day=day)}


def test_registering_a_team_re_attributes_its_open_months_only(api_key, price, team, months):
    ingest(api_key, event(day=months.closed_day, team="ads"), event(day=months.open_day, team="ads"))
    refresh_dirty_days()
    month_close(month=months.closed, today=timezone.now().date())

    with TestCase.captureOnCommitCallbacks(execute=True):
        ads = TeamFactory(slug="ads", name="Ads")
        registry_change(reason="team ads registered")
    refresh_dirty_days()

    assert _team_spend(months.closed_day) == {(None, "ads"): Decimal("0.004500000")}
    assert _team_spend(months.open_day) == {(ads.pk, ""): Decimal("0.004500000")}
    assert UsageEvent.objects.get(day=months.closed_day).team_id is None


def test_the_rollup_command_rebuilds_open_days_and_leaves_closed_ones(closed_ledger):
    UsageEvent.objects.update(billed_cost=Decimal("1"))  # as if the events had drifted from their rollups
    DirtyMark.objects.create(day=closed_ledger.closed_day, marked_at=timezone.now())

    call_command("rollup", since=closed_ledger.closed, stdout=StringIO())

    assert billed(closed_ledger.closed) == Decimal("0.004500000")
    assert DailyBreakdown.objects.get(day=closed_ledger.closed_day, dimension="total").billed_cost == Decimal(
        "0.004500000"
    )
    assert billed(closed_ledger.open) == Decimal("1.000000000")
    assert dirty_days() == []
