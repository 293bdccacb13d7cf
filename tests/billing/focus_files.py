"""FOCUS files written by the tests, in each format the importer reads."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = (
    "BillingAccountId",
    "ProviderName",
    "ServiceCategory",
    "ServiceName",
    "SubAccountId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeDescription",
    "SkuId",
    "BilledCost",
    "EffectiveCost",
    "Tags",
)


def focus_row(**values) -> dict:
    row = {
        "BillingAccountId": "123456789012",
        "ProviderName": "AWS",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": "Amazon Bedrock",
        "SubAccountId": "210987654321",
        "ChargePeriodStart": "2026-10-01T00:00:00Z",
        "ChargePeriodEnd": "2026-10-02T00:00:00Z",
        "ChargeDescription": "Claude Sonnet 4 input tokens",
        "SkuId": "anthropic.claude-sonnet-4",
        "BilledCost": "1.000000001",
        "EffectiveCost": "0.9",
        "Tags": '{"team": "search"}',
    }
    return {**row, **values}


def write_csv(path: Path, rows: list[dict], *, gzipped: bool = False) -> Path:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue().encode()
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    columns = {c: [r[c] for r in rows] for c in COLUMNS}
    pq.write_table(pa.table(columns), path)
    return path
