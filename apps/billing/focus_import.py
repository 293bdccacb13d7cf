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


class FocusImportError(ValueError):
    """The file is not a FOCUS export this importer can read; the message names what is wrong."""


def _rows(stream: BinaryIO) -> Iterator[dict]:
    head = stream.read(4)
    stream.seek(0)
    if head == b"PAR1":
        for batch in pq.ParquetFile(stream).iter_batches(batch_size=10_000):
            yield from batch.to_pylist()
        return
    if head[:2] == b"\x1f\x8b":
        with gzip.open(stream) as raw:
            yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
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
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{column}: {value!r} is not a number") from exc
    if not amount.is_finite():
        raise ValueError(f"{column}: {value!r} is not a number")
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
    if isinstance(value, list):  # a Parquet map column reads as (key, value) pairs
        return {str(k): str(v) for k, v in value}
    try:
        tags = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Tags: {value[:60]!r} is not a JSON object") from exc
    if not isinstance(tags, dict):
        raise ValueError("Tags: must be a JSON object")
    return {str(k): str(v) for k, v in tags.items()}


def billing_import(*, stream: BinaryIO, file_name: str) -> BillingImport:
    """Import a FOCUS file's AI rows; lines of an earlier import of the same billing account and
    providers within the file's period are replaced. A file with any unreadable row is refused
    whole (naming the rows), so a bill is never half imported."""
    lines, errors, read, account_ids = [], [], 0, set()
    try:
        for number, row in enumerate(_rows(stream), start=2):
            read += 1
            if read == 1:
                missing = [c for c in REQUIRED if c not in row]
                if missing:
                    raise FocusImportError(f"Not a FOCUS file: missing column(s) {', '.join(missing)}.")
            if str(row.get("ServiceCategory") or "").strip() != AI_CATEGORY:
                continue
            try:
                billed = _money(row["BilledCost"], "BilledCost")
                lines.append(
                    BillingLine(
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
                )
                account_ids.add(str(row.get("BillingAccountId") or ""))
            except ValueError as exc:
                errors.append(f"row {number}: {exc}")
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise FocusImportError(f"Cannot read {file_name}: {exc}") from exc
    except Exception as exc:  # pyarrow raises its own errors for a corrupt Parquet file
        if type(exc).__module__.startswith("pyarrow"):
            raise FocusImportError(f"Cannot read {file_name} as Parquet: {exc}") from exc
        raise
    if read == 0:
        raise FocusImportError(f"{file_name} has no rows.")
    if errors:
        raise FocusImportError(f"{len(errors)} row(s) refused: " + "; ".join(errors[:10]))
    return _lines_replace(lines=lines, file_name=file_name, read=read, account_id=",".join(sorted(account_ids)))


@transaction.atomic
def _lines_replace(*, lines: list[BillingLine], file_name: str, read: int, account_id: str) -> BillingImport:
    days = [ln.day for ln in lines]
    start, end = (min(days), max(days)) if days else (None, None)
    imported = BillingImport.objects.create(
        file_name=file_name,
        billing_account_id=account_id,
        period_start=start,
        period_end=end,
        rows_read=read,
        rows_kept=len(lines),
    )
    if not lines:
        return imported
    old = BillingLine.objects.filter(
        source=BillingLine.Source.FOCUS,
        provider__in={ln.provider for ln in lines},
        billing_import__billing_account_id=account_id,
        day__gte=start,
        day__lte=end,
    )
    old_days = set(old.values_list("day", flat=True))
    old.delete()
    for line in lines:
        line.billing_import = imported
    BillingLine.objects.bulk_create(lines, batch_size=2000)
    days_mark_dirty(days=old_days | set(days))
    return imported
