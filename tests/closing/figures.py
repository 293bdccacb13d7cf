"""What the archive tests compare before and after: a month's events, and every figure derived from them."""

from __future__ import annotations

from datetime import date

from rest_framework.test import APIClient

from apps.allocation.models import AllocationResult
from apps.billing.models import Reconciliation
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.usage.models import UsageEvent
from apps.usage.selectors import next_month


def month_events(month: date) -> list[dict]:
    rows = UsageEvent.objects.filter(day__gte=month, day__lt=next_month(month)).order_by("id")
    return list(rows.values())


def figures(months, finance) -> dict:
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
