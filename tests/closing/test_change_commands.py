"""After a hand edit (a plain save changes the row only), `rerate` and `reattribute` re-derive the
open months; the admin does it on every save."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase

from apps.closing.models import MonthReopening
from apps.usage.models import ClosedMonth, RerateRun, UsageEvent
from tests.factories import TeamFactory
from tests.rollups.events import event, ingest, refresh_dirty_days

from .conftest import billed, event_costs

pytestmark = pytest.mark.django_db


def _command(*args) -> str:
    with TestCase.captureOnCommitCallbacks(execute=True):
        out = StringIO()
        call_command(*args, stdout=out)
    refresh_dirty_days()
    return out.getvalue()


def test_rerate_re_prices_the_open_months_after_a_hand_edit(closed_ledger, price):
    price.input_per_mtok = Decimal("6")
    price.save()

    out = _command("rerate", "--since", f"{closed_ledger.closed:%Y-%m-%d}")

    assert event_costs(closed_ledger.open_day) == [Decimal("0.007500000")]
    assert billed(closed_ledger.closed) == Decimal("0.004500000")
    run = RerateRun.objects.get()
    assert out == f"Re-rating run {run.pk} (anthropic from {closed_ledger.closed:%Y-%m-%d}): queued.\n"
    assert run.events_changed == 1


def test_rerate_rewrites_closed_months_only_when_asked_with_a_reason(closed_ledger, price, admin_user):
    price.input_per_mtok = Decimal("6")
    price.save()
    since = f"{closed_ledger.closed:%Y-%m-%d}"

    with pytest.raises(CommandError, match="--reason: Give the reason closed months are rewritten"):
        call_command("rerate", "--since", since, "--rewrite-closed-months")
    _command("rerate", "--since", since, "--rewrite-closed-months", "--reason", "Mistyped list price")

    assert billed(closed_ledger.closed) == Decimal("0.007500000")
    assert not ClosedMonth.objects.exists()
    assert MonthReopening.objects.get().reason == "Mistyped list price"


def test_rerate_names_a_malformed_date(db):
    with pytest.raises(CommandError, match=r"--since: '2026-13-01' is not a date: use YYYY-MM-DD\."):
        call_command("rerate", "--since", "2026-13-01")


def test_reattribute_points_events_at_a_team_registered_by_hand(api_key, price, months):
    ingest(api_key, event(day=months.open_day, team="ads"))
    ads = TeamFactory(slug="ads")
    assert UsageEvent.objects.get().team_id is None  # the plain save changed the registry row only

    out = _command("reattribute")

    assert UsageEvent.objects.get().team_id == ads.id
    assert out.startswith("1 event(s) re-attributed")


def test_a_team_added_in_the_admin_re_attributes_the_open_months(api_key, price, months, admin_client):
    ingest(api_key, event(day=months.open_day, team="ads"))

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_client.post(
            "/admin/org/team/add/",
            {
                "slug": "ads",
                "name": "Ads",
                "business_unit": "",
                "products-TOTAL_FORMS": "0",
                "products-INITIAL_FORMS": "0",
                "memberships-TOTAL_FORMS": "0",
                "memberships-INITIAL_FORMS": "0",
                "group_mappings-TOTAL_FORMS": "0",
                "group_mappings-INITIAL_FORMS": "0",
            },
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert UsageEvent.objects.get().team.slug == "ads"
