"""Reading allocation results back in the shape the tests assert on."""

from __future__ import annotations

from decimal import Decimal

from apps.allocation.models import AllocationResult, SharedCostRule


def amounts(rule: SharedCostRule) -> dict[str, Decimal]:
    """Team slug → amount allocated by `rule`, over all days."""
    totals: dict[str, Decimal] = {}
    for result in AllocationResult.objects.filter(rule=rule).select_related("team"):
        totals[result.team.slug] = totals.get(result.team.slug, Decimal(0)) + result.amount
    return totals
