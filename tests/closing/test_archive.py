"""Archiving a closed month's raw events to Parquet: the figures stay, the events come back exactly,
and a month whose events are archived cannot be rewritten until they are restored."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.closing.models import CloseSettings
from apps.closing.services import month_close, months_reopen
from apps.closing.tasks import archive_old_months
from apps.usage.archive import ArchiveError, month_archive, month_restore
from apps.usage.models import ArchivedMonth, EventKey, UsageEvent
from tests.closing.figures import figures, month_events
from tests.rollups.events import event, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path):
    settings.ARCHIVE_DIR = tmp_path
    settings.ARCHIVE_URL = ""
    return tmp_path


def test_a_closed_month_is_archived_and_every_figure_stays(closed_ledger, finance, archive_dir):
    before = figures(closed_ledger, finance)
    events = month_events(closed_ledger.closed)

    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    assert month_events(closed_ledger.closed) == []
    assert month_events(closed_ledger.open) != []
    assert figures(closed_ledger, finance) == before
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
    before = figures(closed_ledger, finance)
    events = month_events(closed_ledger.closed)
    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    call_command("restore_events", str(archive_dir / f"events-{closed_ledger.closed:%Y-%m}.parquet"))

    assert month_events(closed_ledger.closed) == events
    assert figures(closed_ledger, finance) == before
    assert not ArchivedMonth.objects.exists()


def test_a_file_name_alone_is_restored_from_the_archive_folder(closed_ledger):
    events = month_events(closed_ledger.closed)
    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    call_command("restore_events", f"events-{closed_ledger.closed:%Y-%m}.parquet")

    assert month_events(closed_ledger.closed) == events


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
    events = month_events(ledger.closed)
    assert len(events) == 3 and {e["latency_ms"] for e in events} == {None, 17}

    archived = month_archive(month=ledger.closed)
    assert month_events(ledger.closed) == []
    month_restore(location=archived.location)

    assert month_events(ledger.closed) == events


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
