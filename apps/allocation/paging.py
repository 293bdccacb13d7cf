"""Cursor pages over a costs report: opaque, signed, bound to the query they were made for.

A cursor that is not one is a 404, as in DRF's own cursor pagination (the events list)."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from decimal import Decimal

from django.core import signing
from rest_framework.exceptions import NotFound

from .selectors import CostRow, cost_row_order

SALT = "apps.allocation.paging"


def query_fingerprint(params: dict[str, object]) -> str:
    """The same report, asked for again: every parameter except the cursor and the page size."""
    text = repr(sorted((k, str(v)) for k, v in params.items() if k not in {"cursor", "page_size"}))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cursor_make(row: CostRow, *, fingerprint: str) -> str:
    total, key = cost_row_order(row)
    return signing.dumps({"q": fingerprint, "t": str(-total), "k": [list(part) for part in key]}, salt=SALT)


def _cursor_position(cursor: str, *, fingerprint: str) -> tuple:
    try:
        data = signing.loads(cursor, salt=SALT)
        position = (-Decimal(data["t"]), tuple((bool(n), str(v)) for n, v in data["k"]))
        query = data["q"]
    except (signing.BadSignature, KeyError, TypeError, ValueError, ArithmeticError):
        raise NotFound("Invalid cursor: pass the `next_cursor` of the previous page as it is.") from None
    if query != fingerprint:
        raise NotFound(
            "Invalid cursor: it belongs to a different query. Ask again with the same parameters, or without it."
        )
    return position


def page_of(rows: list[CostRow], *, cursor: str | None, page_size: int, fingerprint: str):
    """The rows after `cursor` (all rows sorted by cost_row_order), at most `page_size` of them,
    and the cursor of the next page (None on the last)."""
    start = 0
    if cursor:
        position = _cursor_position(cursor, fingerprint=fingerprint)
        start = bisect_right(rows, position, key=cost_row_order)
    page = rows[start : start + page_size]
    more = start + page_size < len(rows)
    return page, (cursor_make(page[-1], fingerprint=fingerprint) if more and page else None)
