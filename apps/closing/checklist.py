"""What is still open in a month before finance closes it: the checklist the page, the command,
the admin and auto-close all apply (apps.closing.services.month_close_reviewed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from apps.allocation.selectors import costs_report, fixed_costs_due
from apps.billing.models import BillingLine, ProviderReport
from apps.billing.selectors import unmapped_scopes
from apps.budgets.models import Anomaly
from apps.pricing.money import ZERO, usd
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.usage.selectors import next_month


@dataclass(frozen=True)
class OpenItem:
    """One thing still open in the month: `kind` is stable (tests and the record use it), `detail`
    is what finance reads."""

    kind: str
    label: str
    detail: str

    def __str__(self) -> str:
        return f"{self.label}: {self.detail}"


KINDS = {
    "unpriced": "Unpriced events",
    "no_bill": "Providers without a bill",
    "unmapped_scopes": "Unmapped scopes",
    "reconciliation_anomalies": "Open reconciliation anomalies",
    "unallocated": "Unallocated spend",
}


def month_total_spend(month: date) -> Decimal:
    """The month's total spend as the overview shows it: metered spend plus what the fixed-amount
    rules charge. The figure a close names and records."""
    last_day = next_month(month) - timedelta(days=1)
    report = costs_report(start=month, end=last_day, group_by=["team"], filters={}, team_ids=None)
    return report.total.direct_cost + fixed_costs_due(start=month, end=last_day)


def _unpriced(month: date, last_day: date) -> OpenItem | None:
    rows = (
        DailyBreakdown.objects.filter(dimension="model", day__gte=month, day__lte=last_day, unpriced__gt=0)
        .values("value")
        .annotate(n=Sum("unpriced"))
        .order_by("-n", "value")
    )
    counts = {r["value"]: r["n"] for r in rows}
    if not counts:
        return None
    models = ", ".join(f"{name} ({n:,})" for name, n in counts.items())
    return OpenItem("unpriced", KINDS["unpriced"], f"{sum(counts.values()):,} event(s) rated $0.00: {models}")


def _billed_providers(month: date, last_day: date) -> set[str]:
    lines = BillingLine.objects.filter(day__gte=month, day__lte=last_day).values_list("provider", flat=True)
    pulled = ProviderReport.objects.filter(start__lte=last_day, end__gte=month).values_list(
        "account__provider", flat=True
    )
    return set(lines.distinct()) | set(pulled.distinct())


def _no_bill(month: date, last_day: date) -> OpenItem | None:
    spent = (
        DailyRollup.objects.filter(day__gte=month, day__lte=last_day)
        .values("provider")
        .annotate(s=Sum("billed_cost"), n=Sum("requests"))
        .filter(n__gt=0)  # unpriced calls are spend too, of a price not yet known
        .order_by("provider")
    )
    missing = [(r["provider"], r["s"]) for r in spent if r["provider"] not in _billed_providers(month, last_day)]
    if not missing:
        return None
    listed = ", ".join(f"{provider} ({usd(amount)} recorded)" for provider, amount in missing)
    return OpenItem("no_bill", KINDS["no_bill"], f"no bill pulled or imported for {listed}")


def _unmapped_scopes(month: date, last_day: date) -> OpenItem | None:
    scopes = unmapped_scopes(start=month, end=last_day)
    if not scopes:
        return None
    listed = ", ".join(f"{u.provider} {u.scope} ({usd(u.billed)} billed)" for u in scopes)
    return OpenItem("unmapped_scopes", KINDS["unmapped_scopes"], f"billed to no team: {listed}")


def _reconciliation_anomalies(month: date, last_day: date) -> OpenItem | None:
    anomalies = Anomaly.objects.filter(
        Q(day__gte=month, day__lte=last_day),
        dimension=Anomaly.Dimension.RECONCILIATION,
        acknowledged_at__isnull=True,
    ).order_by("day", "subject")
    listed = [f"{a.subject} on {a.day:%-d %b}" for a in anomalies]
    if not listed:
        return None
    return OpenItem(
        "reconciliation_anomalies",
        KINDS["reconciliation_anomalies"],
        f"{len(listed)} not acknowledged: {', '.join(listed)}",
    )


def _unallocated(month: date, last_day: date) -> OpenItem | None:
    report = costs_report(start=month, end=last_day, group_by=["team"], filters={}, team_ids=None)
    amount = sum((r.total for r in report.rows if r.key["team"] is None), ZERO)
    if not amount:
        return None
    return OpenItem("unallocated", KINDS["unallocated"], f"{usd(amount)} belongs to no team and no rule shares it")


def month_open_items(month: date) -> list[OpenItem]:
    """Everything still open in the month, in the order the checklist shows it (empty: ready)."""
    last_day = next_month(month) - timedelta(days=1)
    checks = (_unpriced, _no_bill, _unmapped_scopes, _reconciliation_anomalies, _unallocated)
    return [item for check in checks if (item := check(month, last_day)) is not None]
