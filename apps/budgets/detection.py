"""Finding anomalies: daily spend per subject from rollups, hourly agent spend from recent events."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Min, Q, Sum
from django.db.models.functions import TruncHour

from apps.org.models import Product, Team
from apps.pricing.money import usd
from apps.rollups.models import DailyRollup
from apps.usage.models import UsageEvent

from .anomalies import Baseline, Driver, drivers, is_anomalous
from .models import Anomaly

WINDOW_DAYS = 28
HOURLY_WINDOW_HOURS = 7 * 24
# A loop does not sleep: one busy hour is a burst of ordinary tasks, this many in a row a runaway.
RUNAWAY_MIN_HOURS = 3
# Anomaly dimension → the field naming a subject; and the breakdowns an explanation looks at.
SUBJECT_FIELDS = {
    "team": "team__slug",
    "product": "product__slug",
    "feature": "feature",
    "agent": "agent",
    "environment": "environment__slug",
}
DRIVER_FIELDS = {
    "team": "team__slug",
    "model": "model",
    "feature": "feature",
    "customer": "customer",
    "agent": "agent",
    "environment": "environment__slug",
    "product": "product__slug",
}


def _breakdown(rows, dimension: str) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for field_name, field in DRIVER_FIELDS.items():
        if field_name == dimension:
            continue
        for r in rows.values(field).annotate(cost=Sum("billed_cost")):
            found[(field_name, r[field] or "")] += r["cost"]
    return found


def _typical_mix(before: dict, history: list[Decimal], typical: Baseline) -> dict[tuple[str, str], Decimal]:
    """The window's mix of spend per driver, scaled from its mean to the typical (median) period.

    Deltas are then measured from the same baseline the anomaly was flagged against, so each
    dimension's deltas add up to the increase: a workload running for days (so the mean holds it
    but the median does not) still reads as 100% of its increase, not a share of it."""
    total = sum(history, Decimal(0))
    return {key: spend * typical.median / total for key, spend in before.items()} if total else {}


def _explain(dimension: str, subject: str, when: str, amount: Decimal, typical: Baseline, found: list) -> str:
    text = f"{dimension} `{subject}`"
    environments = [d for d in found if d.dimension == "environment"]
    if dimension != "environment" and environments and environments[0].share >= Decimal("0.9"):
        text += f" in {environments[0].value}"
    text += f": {usd(amount)} {when} vs {usd(typical.median)} typical"
    top = next((d for d in found if d.dimension == "model"), found[0] if found else None)
    if top is not None:
        text += f"; {top.share * 100:.0f}% of the increase from {top.dimension} {top.value}"
    return text


def _owner(dimension: str, subject: str, explained: list[Driver]) -> Team | None:
    """Whose page and leads the anomaly goes to: the team itself, the product's owner, or else the
    team behind most of the increase (not the one that spends most: a spike in production belongs
    to whoever caused it)."""
    if dimension == "team":
        return Team.objects.filter(slug=subject).first()
    if dimension == "product":
        product = Product.objects.filter(slug=subject).select_related("team").first()
        return product.team if product else None
    top = next((d for d in explained if d.dimension == "team" and d.value != "(none)"), None)
    return Team.objects.filter(slug=top.value).first() if top else None


def _first_day() -> date | None:
    """The first day with any usage: before it there is no history, not a history of zeros."""
    return DailyRollup.objects.aggregate(first=Min("day"))["first"]


def anomalies_detect_daily(*, day: date) -> list[Anomaly]:
    """Each subject's spend on `day` against the median of its previous 28 days (fewer, in the
    first weeks of an installation; none in its first week)."""
    start = max(day - timedelta(days=WINDOW_DAYS), _first_day() or day)
    window = DailyRollup.objects.filter(day__gte=start, day__lte=day)
    found_anomalies = []
    for dimension, field in SUBJECT_FIELDS.items():
        series: dict[str, dict[date, Decimal]] = defaultdict(dict)
        subjects = window.exclude(Q(**{f"{field}__isnull": True}) | Q(**{field: ""}))
        for r in subjects.values(field, "day").annotate(cost=Sum("billed_cost")):
            series[r[field]][r["day"]] = r["cost"]
        for subject, daily in series.items():
            amount = daily.get(day, Decimal(0))
            history = [daily.get(start + timedelta(days=i), Decimal(0)) for i in range((day - start).days)]
            typical = is_anomalous(amount, history, min_increase=settings.ANOMALY_MIN_INCREASE)
            if typical is None:
                continue
            rows = window.filter(**{field: subject})
            today = _breakdown(rows.filter(day=day), dimension)
            before = _breakdown(rows.filter(day__lt=day), dimension)
            explained = drivers(today, _typical_mix(before, history, typical), increase=amount - typical.median)
            text = _explain(dimension, subject, f"on {day:%d %b}", amount, typical, explained)
            anomaly, _ = Anomaly.objects.record(
                dimension=dimension,
                subject=subject,
                team=_owner(dimension, subject, explained),
                day=day,
                amount=amount,
                baseline=typical.median,
                drivers=explained,
                explanation=text,
            )
            found_anomalies.append(anomaly)
    return found_anomalies


def anomalies_detect_hourly(*, hour: datetime) -> list[Anomaly]:
    """Runaway agents: an agent's spend in the hour starting at `hour` and in the hours just before
    it, each against the median hour of the previous week. Reads raw events of those eight days
    only (the day index bounds it)."""
    first_day = _first_day() or hour.date()
    start = max(hour - timedelta(hours=HOURLY_WINDOW_HOURS), datetime.combine(first_day, time.min, tzinfo=UTC))
    events = UsageEvent.objects.filter(
        day__gte=start.date(), day__lte=hour.date(), timestamp__gte=start, timestamp__lt=hour + timedelta(hours=1)
    ).exclude(agent="")
    series: dict[str, dict[datetime, Decimal]] = defaultdict(dict)
    for r in events.annotate(h=TruncHour("timestamp")).values("agent", "h").annotate(cost=Sum("billed_cost")):
        series[r["agent"]][r["h"]] = r["cost"]
    found_anomalies = []
    for agent, hourly in series.items():
        amount = hourly.get(hour, Decimal(0))
        hours = int((hour - start).total_seconds()) // 3600
        history = [hourly.get(start + timedelta(hours=i), Decimal(0)) for i in range(hours)]
        typical = is_anomalous(amount, history, min_increase=settings.ANOMALY_MIN_HOURLY_INCREASE)
        if typical is None or not all(
            typical.is_broken_by(spend, min_increase=settings.ANOMALY_MIN_HOURLY_INCREASE)
            for spend in history[-(RUNAWAY_MIN_HOURS - 1) :]
        ):
            continue
        in_hour = events.filter(agent=agent, timestamp__gte=hour)
        today = _breakdown(in_hour, "agent")
        before = _breakdown(events.filter(agent=agent, timestamp__lt=hour), "agent")
        explained = drivers(today, _typical_mix(before, history, typical), increase=amount - typical.median)
        text = _explain("agent", agent, f"in the hour from {hour:%d %b %H:00} UTC", amount, typical, explained)
        anomaly, _ = Anomaly.objects.record(
            dimension="agent",
            subject=agent,
            team=_owner("agent", agent, explained),
            day=hour.date(),
            hour=hour.hour,
            amount=amount,
            baseline=typical.median,
            drivers=explained,
            explanation=text,
        )
        found_anomalies.append(anomaly)
    return found_anomalies
