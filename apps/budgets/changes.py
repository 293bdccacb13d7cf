"""Why spend moved: a period against the same days of the month before, the change split exactly
into contributions by product, feature, model, customer and agent; a large rise is an anomaly."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Sum

from apps.org.models import Team
from apps.pricing.money import ZERO, usd
from apps.rollups.models import DailyBreakdown

from .anomalies import Driver
from .models import Alert, Anomaly, ChangeSettings

DIMENSIONS = ("product", "feature", "model", "customer", "agent")
SHARE = Decimal("0.0001")
SHOWN = 5  # contributions listed per dimension; the rest are one "everything else" line


@dataclass(frozen=True)
class Contribution:
    dimension: str
    value: str  # as tagged ('' for spend without the tag); None on the "everything else" line
    before: Decimal
    now: Decimal
    others: int = 0  # on the "everything else" line: how many values it sums

    @property
    def delta(self) -> Decimal:
        return self.now - self.before


@dataclass(frozen=True)
class DimensionChange:
    dimension: str
    contributions: list[Contribution]  # largest move first, then "everything else": they sum to the change

    @property
    def total(self) -> Decimal:
        return sum((c.delta for c in self.contributions), ZERO)


@dataclass(frozen=True)
class WhatChanged:
    start: date
    end: date
    previous_start: date
    previous_end: date
    before: Decimal
    now: Decimal
    dimensions: list[DimensionChange]

    @property
    def change(self) -> Decimal:
        return self.now - self.before

    @property
    def change_share(self) -> Decimal | None:
        return self.change / self.before if self.before else None

    def top(self, count: int = 3) -> list[Contribution]:
        """The largest contributions in the change's direction, whatever their dimension (untagged
        spend and the "everything else" lines name nothing to look at, so they are left out)."""
        sign = 1 if self.change >= 0 else -1
        named = [c for d in self.dimensions for c in d.contributions if c.value and c.delta * sign > 0]
        return sorted(named, key=lambda c: (-abs(c.delta), c.dimension, c.value))[:count]


def decompose(dimension: str, now: dict[str, Decimal], before: dict[str, Decimal]) -> DimensionChange:
    """Each value's change (now − before). The values partition the spend, so the changes sum to the
    whole change exactly; the smallest are folded into one line, which keeps the sum exact."""
    rows = [Contribution(dimension, v, before.get(v, ZERO), now.get(v, ZERO)) for v in sorted({*now, *before})]
    rows = [c for c in rows if c.delta or c.now or c.before]
    rows.sort(key=lambda c: (-abs(c.delta), c.value))
    shown, rest = rows[:SHOWN], rows[SHOWN:]
    if rest:
        before_rest = sum((c.before for c in rest), ZERO)
        now_rest = sum((c.now for c in rest), ZERO)
        shown.append(Contribution(dimension, None, before_rest, now_rest, others=len(rest)))
    return DimensionChange(dimension, [c for c in shown if c.delta or c.others])


def previous_same_days(start: date, end: date) -> tuple[date, date]:
    """The same days one month earlier: `start`'s day of the month before (its last day if shorter),
    as many days on, and never past the day before `start`."""
    before = start.replace(day=1) - timedelta(days=1)
    prev_start = before.replace(day=min(start.day, before.day))
    return prev_start, min(prev_start + (end - start), start - timedelta(days=1))


def _sums(rows, field: str) -> dict[str, Decimal]:
    return {r[field] or "": r["cost"] for r in rows.values(field).annotate(cost=Sum("billed_cost")).order_by()}


def team_what_changed(*, team: Team, start: date, end: date) -> WhatChanged:
    """The team's direct spend from `start` to `end` against the same days of the month before."""
    prev_start, prev_end = previous_same_days(start, end)
    rows = DailyBreakdown.objects.filter(team=team)
    now_rows, before_rows = (
        rows.filter(day__gte=start, day__lte=end),
        rows.filter(day__gte=prev_start, day__lte=prev_end),
    )
    totals = {
        "now": now_rows.filter(dimension="total").aggregate(s=Sum("billed_cost"))["s"] or ZERO,
        "before": before_rows.filter(dimension="total").aggregate(s=Sum("billed_cost"))["s"] or ZERO,
    }
    dimensions = [
        decompose(d, _sums(now_rows.filter(dimension=d), "value"), _sums(before_rows.filter(dimension=d), "value"))
        for d in DIMENSIONS
    ]
    return WhatChanged(start, end, prev_start, prev_end, totals["before"], totals["now"], dimensions)


def rows_what_changed(*, now_rows, before_rows, fields: Iterable[tuple[str, str]], start, end, prev_start, prev_end):
    """The same comparison over rollup querysets already narrowed (the drill-down's filters);
    `fields` pairs each dimension with its rollup field."""
    dimensions = [decompose(d, _sums(now_rows, f), _sums(before_rows, f)) for d, f in fields]
    now = now_rows.aggregate(s=Sum("billed_cost"))["s"] or ZERO
    before = before_rows.aggregate(s=Sum("billed_cost"))["s"] or ZERO
    return WhatChanged(start, end, prev_start, prev_end, before, now, dimensions)


def _label(c: Contribution) -> str:
    return f"{c.dimension} {c.value or '(none)'}"


def explanation(team: Team, changed: WhatChanged) -> str:
    share = changed.change_share
    parts = ", ".join(f"{'+' if c.delta >= 0 else '-'}{usd(abs(c.delta))} from {_label(c)}" for c in changed.top())
    return (
        f"{team.slug}: {usd(changed.now)} from {changed.start:%-d %b} to {changed.end:%-d %b}, "
        f"{share * 100:+.1f}% on the same days of the month before ({usd(changed.before)}); {parts}."
    )


def month_change_check(*, today: date) -> list[Alert]:
    """Raise one anomaly (refreshed daily) and one alert per team and month whose month so far, in
    whole days, is up on the same days of the month before by more than the admin's threshold."""
    settings = ChangeSettings.current()
    end = today - timedelta(days=1)
    start = end.replace(day=1)
    if settings.threshold_percent is None or today.day == 1:
        return []
    from .services import alert_raise  # services imports this module

    alerts = []
    for team in Team.objects.order_by("slug"):
        changed = team_what_changed(team=team, start=start, end=end)
        share = changed.change_share
        if share is None or share * 100 <= settings.threshold_percent or changed.change < settings.min_change:
            continue
        text = explanation(team, changed)
        drivers = [
            Driver(
                c.dimension,
                c.value or "",
                c.delta,
                (c.delta / changed.change).quantize(Decimal("0.0001"), ROUND_HALF_EVEN),
            )
            for c in changed.top()
        ]
        anomaly, _ = Anomaly.objects.record(
            dimension=Anomaly.Dimension.MONTH_CHANGE,
            subject=team.slug,
            team=team,
            day=start,  # one per team and month, its figures refreshed each day
            amount=changed.now,
            baseline=changed.before,
            drivers=drivers,
            explanation=text,
        )
        alert = alert_raise(
            kind=Alert.Kind.ANOMALY,
            subject=f"month_change:{team.slug}",
            period=f"{start:%Y-%m}",
            team=team,
            message=text,
            anomaly=anomaly,
        )
        if alert is not None:
            alerts.append(alert)
    return alerts
