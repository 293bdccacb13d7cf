"""CSV exports of the pages: the figures exactly, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import HttpResponse

from apps.pricing.money import ZERO

from .selectors.team import StatementLine

STATEMENT_COLUMNS = (
    "kind",
    "product",
    "model",
    "environment",
    "rule",
    "requests",
    "input_tokens",
    "output_tokens",
    "list_cost_usd",
    "amount_usd",
)


def text_cell(text: str) -> str:
    """Model names and tags come from clients: one starting like a formula is quoted, so a
    spreadsheet opening the file shows it rather than evaluating it."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(filename: str, header: Iterable[str], rows: Iterable[Iterable]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def statement_rows(lines: list[StatementLine]) -> list[list]:
    """One row per statement line, then the total; amounts in fixed-point, exact to the nano."""
    rows = [
        [
            line.kind,
            text_cell(line.product),
            text_cell(line.model),
            text_cell(line.environment),
            text_cell(line.rule),
            line.requests,
            line.input_tokens,
            line.output_tokens,
            "" if line.list_cost is None else f"{line.list_cost:f}",
            f"{line.amount:f}",
        ]
        for line in lines
    ]
    total = sum((line.amount for line in lines), ZERO)
    rows.append(["total", "", "", "", "", "", "", "", "", f"{total:f}"])
    return rows
