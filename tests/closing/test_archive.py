"""Archiving a closed month's raw events to Parquet: the figures stay, the events come back exactly,
and a month whose events are archived cannot be rewritten until they are restored."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apps.allocation.models import AllocationResult
from apps.billing.models import Reconciliation
from apps.closing.models import CloseSettings
from apps.closing.services import month_close, months_reopen
from apps.closing.tasks import archive_old_months
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.usage.archive import ArchiveError, month_archive, month_restore
from apps.usage.models import ArchivedMonth, EventKey, UsageEvent
from apps.usage.selectors import next_month
from tests.rollups.events import event, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path):
    settings.ARCHIVE_DIR = tmp_path
    settings.ARCHIVE_URL = ""
    return tmp_path


def _events(month: date) -> list[dict]:
    rows = UsageEvent.objects.filter(day__gte=month, day__lt=next_month(month)).order_by("id")
    return list(rows.values())


def _figures(months, finance) -> dict:
    """Everything derived from the events that people read: rollups, splits, reconciliation, pages."""
    client = APIClient()
    client.force_authenticate(finance)
    costs = client.get(
        "/api/v1/costs", {"start": months.closed.isoformat(), "end": months.open_day.isoformat(), "group_by": "team"}
    )
    assert costs.status_code == 200, costs.content
    client.force_login(finance)
    page = client.get("/teams/search/", {"month": f"{months.closed:%Y-%m}"})
    assert page.status_code == 200
    return {
        "rollups": list(
            DailyRollup.objects.order_by("day", "id").values_list("day", "team_id", "billed_cost", "requests")
        ),
        "breakdowns": list(
            DailyBreakdown.objects.order_by("id").values_list("day", "dimension", "value", "billed_cost")
        ),
        "allocations": list(AllocationResult.objects.order_by("id").values_list("day", "team_id", "amount")),
        "reconciliations": list(Reconciliation.objects.order_by("id").values()),
        "costs": costs.json(),
        "team_page": page.content.decode().split("<main", 1)[-1],
    }


def test_a_closed_month_is_archived_and_every_figure_stays(closed_ledger, finance, archive_dir):
    before = _figures(closed_ledger, finance)
    events = _events(closed_ledger.closed)

    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    assert _events(closed_ledger.closed) == []
    assert _events(closed_ledger.open) != []
    assert _figures(closed_ledger, finance) == before
    archived = ArchivedMonth.objects.get()
    assert (archived.month, archived.rows, archived.billed_cost) == (closed_ledger.closed, 1, Decimal("0.004500000"))
    manifest = json.loads((archive_dir / f"events-{closed_ledger.closed:%Y-%m}.manifest.json").read_text())
    assert (manifest["rows"], manifest["billed_cost_usd"], manifest["sha256"]) == (1, "0.004500000", archived.sha256)
    table = pq.read_table(archive_dir / f"events-{closed_ledger.closed:%Y-%m}.parquet")
    assert table.column("id").to_pylist() == [e["id"] for e in events]
    assert (
        pq.ParquetFile(archive_dir / f"events-{closed_ledger.closed:%Y-%m}.parquet")
        .metadata.row_group(0)
        .column(0)
        .compression
        == "ZSTD"
    )


def test_restoring_brings_the_events_back_exactly(closed_ledger, finance, archive_dir):
    before = _figures(closed_ledger, finance)
    events = _events(closed_ledger.closed)
    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    call_command("restore_events", str(archive_dir / f"events-{closed_ledger.closed:%Y-%m}.parquet"))

    assert _events(closed_ledger.closed) == events
    assert _figures(closed_ledger, finance) == before
    assert not ArchivedMonth.objects.exists()


def test_awkward_values_come_back_exactly(ledger, api_key, archive_dir):
    """Commas, quotes, an empty string beside a missing value, non-ASCII JSON and microseconds
    survive the file both ways (PostgreSQL reads and writes it as CSV through COPY)."""
    day = ledger.closed_day
    ingest(
        api_key,
        event(
            day=day,
            team="search",
            timestamp=f"{day}T23:59:59.999999+00:00",
            feature='summary, "long"',
            customer="",
            latency_ms=17,
            attributes={"note": 'a,b\n"c"', "größe": 3, "ok": True},
        ),
        event(day=day, team="search", agent="café ☕", trace_id="t,1"),
    )
    month_close(month=ledger.closed, today=timezone.now().date())
    events = _events(ledger.closed)
    assert len(events) == 3 and {e["latency_ms"] for e in events} == {None, 17}

    archived = month_archive(month=ledger.closed)
    assert _events(ledger.closed) == []
    month_restore(location=archived.location)

    assert _events(ledger.closed) == events


def test_an_archived_event_resent_is_still_a_duplicate(closed_ledger, api_key):
    stored = UsageEvent.objects.get(day=closed_ledger.closed_day)
    month_archive(month=closed_ledger.closed)

    result = ingest(api_key, event(day=closed_ledger.closed_day, team="search", event_id=stored.event_id))

    assert (result.accepted, result.duplicates) == (0, 1)
    assert EventKey.objects.filter(event_id=stored.event_id).count() == 1


def test_an_open_month_is_not_archived(ledger):
    with pytest.raises(ArchiveError, match="is open"):
        month_archive(month=ledger.open)
    assert UsageEvent.objects.count() == 2


def test_rewriting_an_archived_month_says_to_restore_it_first(closed_ledger, admin_user):
    month_archive(month=closed_ledger.closed)

    with pytest.raises(ValidationError, match="is archived: restore its events first"):
        months_reopen(months=[closed_ledger.closed], by=admin_user, reason="Wrong price", change="price edit")


def test_re_rating_an_archived_month_from_the_command_says_to_restore_it_first(closed_ledger):
    month_archive(month=closed_ledger.closed)

    with pytest.raises(CommandError, match="restore_events"):
        call_command(
            "rerate", "--since", closed_ledger.closed.isoformat(), "--rewrite-closed-months", "--reason", "fix"
        )


def test_a_file_changed_since_it_was_archived_is_not_restored(closed_ledger, archive_dir):
    month_archive(month=closed_ledger.closed)
    path = archive_dir / f"events-{closed_ledger.closed:%Y-%m}.parquet"
    path.write_bytes(path.read_bytes() + b"x")

    with pytest.raises(CommandError, match="SHA-256"):
        call_command("restore_events", str(path))
    assert ArchivedMonth.objects.exists()


def test_a_malformed_month_is_refused_naming_the_option(db):
    with pytest.raises(CommandError, match="--before: '2026-13' is not a month"):
        call_command("archive_events", "--before", "2026-13")


def test_beat_archives_months_older_than_the_setting_and_nothing_while_it_is_blank(closed_ledger):
    assert archive_old_months.delay().get() == []
    CloseSettings.objects.create(archive_after_months=1)

    assert archive_old_months.delay().get() == [f"{closed_ledger.closed:%Y-%m}"]
    assert ArchivedMonth.objects.get().month == closed_ledger.closed


def test_beat_leaves_a_month_younger_than_the_setting(closed_ledger):
    CloseSettings.objects.create(archive_after_months=2)

    assert archive_old_months.delay().get() == []
    assert not ArchivedMonth.objects.exists()


def test_the_admin_lists_archived_months_read_only(closed_ledger, admin_client):
    month_archive(month=closed_ledger.closed)

    page = admin_client.get("/admin/usage/archivedmonth/").content.decode()

    assert f"{closed_ledger.closed:%Y-%m}" in page and "0.004500000" in page
    assert admin_client.get("/admin/usage/archivedmonth/add/").status_code == 403
