"""CSV exports of the pages: the figures exactly, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import HttpResponse

from apps.pricing.money import ZERO

from .selectors.team import StatementLine

STATEMENT_COLUMNS = (
    "month",
    "team",
    "team_name",
    "kind",
    "product",
    "product_name",
    "feature",
    "model",
    "environment",
    "customer",
    "customer_name",
    "rule",
    "requests",
    "input_tokens",
    "output_tokens",
    "list_cost_usd",
    "amount_usd",
)
OVERVIEW_COLUMNS = (
    "month",
    "team",
    "team_name",
    "shared_team",
    "direct_usd",
    "allocated_in_usd",
    "allocated_out_usd",
    "total_usd",
    "previous_same_days_usd",
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


def _blank(value) -> object:
    return "" if value is None else value


def statement_rows(lines: list[StatementLine], *, month: str, team: str, team_name: str) -> list[list]:
    """One row per statement line, then the total; amounts in fixed-point, exact to the nano.
    Allocation lines leave the traffic columns blank: shared costs carry no tokens of their own."""
    head = [month, team, text_cell(team_name)]
    rows = [
        [
            *head,
            line.kind,
            text_cell(line.product),
            text_cell(line.product_name),
            text_cell(line.feature),
            text_cell(line.model),
            text_cell(line.environment),
            text_cell(line.customer),
            text_cell(line.customer_name),
            text_cell(line.rule),
            _blank(line.requests),
            _blank(line.input_tokens),
            _blank(line.output_tokens),
            "" if line.list_cost is None else f"{line.list_cost:f}",
            f"{line.amount:f}",
        ]
        for line in lines
    ]
    total = sum((line.amount for line in lines), ZERO)
    rows.append([*head, "total", *[""] * 12, f"{total:f}"])
    return rows


def overview_rows(ranks, reconciliation, *, month: str) -> list[list]:
    """Each team's month, exact, then what no rule allocated and the month's total spend."""
    rows = [
        [
            month,
            rank.slug or "",
            text_cell(rank.name),
            "yes" if rank.is_shared else "no",
            f"{rank.direct:f}",
            f"{rank.allocated_in:f}",
            f"{rank.allocated_out:f}",
            f"{rank.total:f}",
            f"{rank.previous:f}",
        ]
        for rank in ranks
    ]
    rows.append([month, "", "total spend", "", "", "", "", f"{reconciliation.total_spend:f}", ""])
    return rows
