"""Archiving a closed month to an S3-compatible bucket (moto's S3 server on loopback, spoken to over
HTTP by pyarrow's S3 client) and restoring it from there exactly."""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from decimal import Decimal

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from moto.server import ThreadedMotoServer

from apps.usage.models import ArchivedMonth
from tests.closing.figures import figures, month_events

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3_endpoint() -> str:
    """host:port of an S3-compatible server on loopback, for the module's tests."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch):
    """The variables the AWS SDK (in pyarrow, and boto3 here) reads; nothing from the machine's own."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "archive-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "archive-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=f"http://{s3_endpoint}", region_name="us-east-1")


@pytest.fixture
def bucket(s3) -> str:
    name = f"archive-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def archive_url(settings, tmp_path, bucket, s3_endpoint) -> str:
    settings.ARCHIVE_DIR = tmp_path / "folder"
    settings.ARCHIVE_URL = f"s3://{bucket}/events?endpoint_override={s3_endpoint}&scheme=http"
    return settings.ARCHIVE_URL


def _object(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_closed_month_is_archived_to_the_bucket_and_every_figure_stays(
    closed_ledger, finance, archive_url, s3, bucket, s3_endpoint, capsys, settings
):
    before = figures(closed_ledger, finance)
    events = month_events(closed_ledger.closed)
    month = f"{closed_ledger.closed:%Y-%m}"

    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [f"events/events-{month}.manifest.json", f"events/events-{month}.parquet"]
    data = _object(s3, bucket, f"events/events-{month}.parquet")
    manifest = json.loads(_object(s3, bucket, f"events/events-{month}.manifest.json"))
    table = pq.read_table(pa.BufferReader(data))
    assert (manifest["rows"], manifest["billed_cost_usd"], manifest["billed_cost_nanos"]) == (
        1,
        "0.004500000",
        4_500_000,
    )
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert (table.num_rows, pc.sum(table.column("billed_cost")).as_py()) == (manifest["rows"], 4_500_000)
    assert table.column("id").to_pylist() == [e["id"] for e in events]
    archived = ArchivedMonth.objects.get()
    location = f"s3://{bucket}/events/events-{month}.parquet?endpoint_override={s3_endpoint}&scheme=http"
    assert (archived.location, archived.rows, archived.billed_cost) == (location, 1, Decimal("0.004500000"))
    assert archived.sha256 == manifest["sha256"]
    assert f"to {location} (SHA-256 {archived.sha256})" in capsys.readouterr().out
    assert month_events(closed_ledger.closed) == []
    assert month_events(closed_ledger.open) != []
    assert figures(closed_ledger, finance) == before
    assert not settings.ARCHIVE_DIR.exists()


@pytest.mark.parametrize("given", ["url", "file name"])
def test_restoring_from_the_bucket_brings_the_events_back_exactly(closed_ledger, finance, archive_url, given):
    before = figures(closed_ledger, finance)
    events = month_events(closed_ledger.closed)
    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")
    archived = ArchivedMonth.objects.get()

    call_command(
        "restore_events", archived.location if given == "url" else f"events-{closed_ledger.closed:%Y-%m}.parquet"
    )

    assert month_events(closed_ledger.closed) == events
    assert figures(closed_ledger, finance) == before
    assert not ArchivedMonth.objects.exists()


def test_credentials_in_the_url_are_neither_recorded_nor_printed(
    closed_ledger, settings, monkeypatch, bucket, s3_endpoint, capsys
):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    settings.ARCHIVE_URL = f"s3://url-key:url-secret@{bucket}/events?endpoint_override={s3_endpoint}&scheme=http"
    events = month_events(closed_ledger.closed)

    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")
    archived = ArchivedMonth.objects.get()
    assert archived.location.startswith(f"s3://{bucket}/events/events-")
    assert "url-secret" not in capsys.readouterr().out

    call_command("restore_events", archived.location)
    assert month_events(closed_ledger.closed) == events


@pytest.mark.parametrize("trouble", ["no such bucket", "no server"])
def test_a_bucket_that_cannot_be_written_is_a_clear_error_and_nothing_leaves_the_database(
    closed_ledger, settings, s3_endpoint, trouble
):
    endpoint = s3_endpoint
    if trouble == "no server":
        with socket.socket() as probe:  # a loopback port nothing listens on
            probe.bind(("127.0.0.1", 0))
            endpoint = f"127.0.0.1:{probe.getsockname()[1]}"
    settings.ARCHIVE_URL = f"s3://archive-missing/events?endpoint_override={endpoint}&scheme=http"
    events = month_events(closed_ledger.closed)
    cause = "The specified bucket does not exist" if trouble == "no such bucket" else "Could not connect"

    with pytest.raises(CommandError) as error:
        call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    message = str(error.value)
    assert message.startswith(
        f"{closed_ledger.closed:%Y-%m} cannot be written to s3://archive-missing/events/events-"
        f"{closed_ledger.closed:%Y-%m}.parquet?endpoint_override={endpoint}&scheme=http, nothing was removed: "
    )
    assert cause in message
    assert month_events(closed_ledger.closed) == events
    assert not ArchivedMonth.objects.exists()


def test_an_object_changed_in_the_bucket_is_not_restored(closed_ledger, archive_url, s3, bucket):
    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")
    key = f"events/events-{closed_ledger.closed:%Y-%m}.parquet"
    s3.put_object(Bucket=bucket, Key=key, Body=_object(s3, bucket, key) + b"x")

    with pytest.raises(CommandError, match="its SHA-256 is not the manifest's"):
        call_command("restore_events", ArchivedMonth.objects.get().location)
    assert month_events(closed_ledger.closed) == []
    assert ArchivedMonth.objects.exists()


def test_a_file_missing_from_the_bucket_is_a_clear_error(closed_ledger, archive_url, bucket):
    call_command("archive_events", "--before", f"{closed_ledger.open:%Y-%m}")

    with pytest.raises(CommandError, match=f"no manifest beside it \\({bucket}/events/events-2001-01.manifest.json\\)"):
        call_command("restore_events", "events-2001-01.parquet")
    assert ArchivedMonth.objects.exists()
