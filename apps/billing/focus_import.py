"""Importing cloud bills as FOCUS 1.0–1.2 files (CSV, gzip CSV, Parquet): the AI services' rows."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction

from .models import BillingImport, BillingLine
from .services import days_mark_dirty

AI_CATEGORY = "AI and Machine Learning"
REQUIRED = ("BilledCost", "EffectiveCost", "ChargePeriodStart", "ServiceCategory", "ServiceName")
# FOCUS ServiceName → the provider name events use for the same service.
SERVICES = {
    "amazon bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "vertex ai": "gcp.vertex_ai",
    "vertex ai api": "gcp.vertex_ai",
    "gemini api": "gcp.vertex_ai",
    "azure openai": "azure.ai.openai",
    "azure openai service": "azure.ai.openai",
    "azure ai foundry models": "azure.ai.openai",
}
CLOUDS = {"aws": "aws", "amazon web services": "aws", "google cloud": "gcp", "microsoft": "azure", "azure": "azure"}
# No single day's line of a cloud bill comes near this; beyond it a value is a typo or an attack, and
# a day's sum must fit the rollups' 64-bit nano-dollars (about $9.2 billion).
MAX_LINE_AMOUNT = Decimal(10**9)
# Lines are written as they are read, this many at a time, so a large file is never held in memory.
CHUNK_ROWS = 2000
SHOWN_ERRORS = 10


class FocusImportError(ValueError):
    """The file is not a FOCUS export this importer can read; the message names what is wrong."""


class _Bounded(io.RawIOBase):
    """A decompressing reader that refuses to hand out more than `limit` bytes (a gzip bomb)."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self.raw, self.left, self.limit = raw, limit, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise FocusImportError(f"The file decompresses to more than {self.limit:,} bytes.")
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def _rows(stream: BinaryIO) -> Iterator[dict]:
    limit = settings.BILLING_UPLOAD_MAX_UNCOMPRESSED_BYTES
    head = stream.read(4)
    stream.seek(0)
    if head == b"PAR1":
        parquet = pq.ParquetFile(stream)
        metadata = parquet.metadata
        size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if size > limit:
            raise FocusImportError(f"The file decompresses to {size:,} bytes, more than {limit:,}.")
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
            yield from batch.to_pylist()
        return
    if head[:2] == b"\x1f\x8b":
        with gzip.open(stream) as unzipped:
            bounded = io.BufferedReader(_Bounded(unzipped, limit))
            yield from csv.DictReader(io.TextIOWrapper(bounded, encoding="utf-8-sig", newline=""))
        return
    yield from csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))


def _provider(row: dict) -> str:
    service = str(row.get("ServiceName") or "").strip()
    if service.lower() in SERVICES:
        return SERVICES[service.lower()]
    issuer = str(row.get("ProviderName") or row.get("ServiceProviderName") or "").strip().lower()
    cloud = CLOUDS.get(issuer, issuer.replace(" ", "_") or "cloud")
    return f"{cloud}.{service.lower().replace(' ', '_')}"


def _money(value, column: str) -> Decimal:
    shown = str(value)[:40]
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{column}: {shown!r} is not a number")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{column}: {shown!r} is not a number") from exc
    if not amount.is_finite():
        raise ValueError(f"{column}: {shown!r} is not a number")
    if abs(amount) >= MAX_LINE_AMOUNT:
        raise ValueError(f"{column}: {shown} is beyond any one line of a bill (at most ${MAX_LINE_AMOUNT:,})")
    return amount


def _day(value) -> date:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValueError(f"ChargePeriodStart: {value!r} is not an ISO 8601 date-time") from exc
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def _tags(value) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(p, tuple | list) and len(p) == 2 for p in value):
        return {str(k): str(v) for k, v in value}  # a Parquet map column reads as (key, value) pairs
    if not isinstance(value, str):
        raise ValueError(f"Tags: must be a JSON object or a map, not {type(value).__name__} {str(value)[:40]!r}")
    try:
        tags = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Tags: {value[:60]!r} is not a JSON object") from exc
    if not isinstance(tags, dict):
        raise ValueError("Tags: must be a JSON object")
    return {str(k): str(v) for k, v in tags.items()}


def _line(row: dict) -> BillingLine:
    billed = _money(row["BilledCost"], "BilledCost")
    return BillingLine(
        source=BillingLine.Source.FOCUS,
        provider=_provider(row),
        day=_day(row["ChargePeriodStart"]),
        scope=str(row.get("SubAccountId") or ""),
        tags=_tags(row.get("Tags")),
        description=str(row.get("ChargeDescription") or "")[:512],
        model=str(row.get("SkuId") or "")[:128],
        billed_cost=billed,
        effective_cost=_money(row.get("EffectiveCost") or billed, "EffectiveCost"),
    )


def billing_import(*, stream: BinaryIO, file_name: str) -> BillingImport:
    """Import a FOCUS file's AI rows; lines of an earlier import of the same billing account and
    providers within the file's period are replaced. A file with any unreadable row is refused
    whole (naming the rows), so a bill is never half imported. Lines are written as they are read
    (in one transaction), so memory stays flat however large the file."""
    try:
        with transaction.atomic():
            return _import(stream=stream, file_name=file_name)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise FocusImportError(f"Cannot read {file_name}: {exc}") from exc
    except FocusImportError:
        raise
    except Exception as exc:  # pyarrow raises its own errors for a corrupt Parquet file
        if type(exc).__module__.startswith("pyarrow"):
            raise FocusImportError(f"Cannot read {file_name} as Parquet: {exc}") from exc
        raise


def _import(*, stream: BinaryIO, file_name: str) -> BillingImport:
    imported = BillingImport.objects.create(file_name=file_name)
    chunk: list[BillingLine] = []
    errors, error_count, read, kept = [], 0, 0, 0
    days, providers, account_ids = set(), set(), set()
    for number, row in enumerate(_rows(stream), start=2):
        read += 1
        if read == 1:
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise FocusImportError(f"Not a FOCUS file: missing column(s) {', '.join(missing)}.")
        if str(row.get("ServiceCategory") or "").strip() != AI_CATEGORY:
            continue
        try:
            line = _line(row)
        except ValueError as exc:
            error_count += 1
            if len(errors) < SHOWN_ERRORS:
                errors.append(f"row {number}: {exc}")
            continue
        if error_count:
            continue  # the file is refused: keep reading only to name its bad rows
        line.billing_import = imported
        chunk.append(line)
        days.add(line.day)
        providers.add(line.provider)
        account_ids.add(str(row.get("BillingAccountId") or ""))
        if len(chunk) == CHUNK_ROWS:
            kept += len(BillingLine.objects.bulk_create(chunk))
            chunk = []
    if read == 0:
        raise FocusImportError(f"{file_name} has no rows.")
    if error_count:
        raise FocusImportError(f"{error_count} row(s) refused: " + "; ".join(errors))
    kept += len(BillingLine.objects.bulk_create(chunk))
    imported.billing_account_id = ",".join(sorted(account_ids))
    imported.rows_read, imported.rows_kept = read, kept
    imported.period_start, imported.period_end = (min(days), max(days)) if days else (None, None)
    imported.save()
    if days:
        old = BillingLine.objects.filter(
            source=BillingLine.Source.FOCUS,
            provider__in=providers,
            billing_import__billing_account_id=imported.billing_account_id,
            day__gte=imported.period_start,
            day__lte=imported.period_end,
        ).exclude(billing_import=imported)
        old_days = set(old.values_list("day", flat=True))
        old.delete()
        days_mark_dirty(days=old_days | days)
    return imported
