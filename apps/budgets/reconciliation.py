"""Anomalies and alerts for provider bills that differ from recorded spend beyond the threshold."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from apps.billing.models import Reconciliation, ReconciliationSettings
from apps.billing.selectors import day_spends, exceeds_threshold, realised_discounts
from apps.pricing.money import usd_exact

from .anomalies import Driver
from .models import Alert, Anomaly

# A provider revises recent days and FOCUS files arrive monthly: look back over a month and a bit.
RECONCILIATION_LOOKBACK_DAYS = 40


def _explanation(r: Reconciliation, day_spend) -> str:
    difference = r.billed - r.recorded
    scope = r.scopes or "unscoped lines"
    owner = f"team {r.team.slug}" if r.team else "no mapped team"
    verdict = (
        f"{usd_exact(difference)} billed that no event recorded"
        if difference > 0
        else f"{usd_exact(-difference)} recorded beyond the bill. {r.cause}"
    )
    share = abs(difference) * 100 / day_spend
    return (
        f"{r.provider} on {r.day.isoformat()}, scope {scope} ({owner}): billed {usd_exact(r.billed)}, recorded "
        f"{usd_exact(r.recorded)}: {verdict} ({share:.1f}% of the day's spend)."
    )


def reconciliation_check(*, since: date) -> list[Alert]:
    """Raise an anomaly and an alert, once each, for every reconciled scope and day whose
    difference exceeds the threshold share of that provider's day (`ReconciliationSettings`)."""
    percent = ReconciliationSettings.current().threshold_percent
    rows = list(Reconciliation.objects.filter(day__gte=since).select_related("team"))
    spends = day_spends(rows)
    alerts = []
    for r in rows:
        if r.is_partial:  # the provider's day was still running when pulled: its bill is not final
            continue
        spend = spends[(r.provider, r.day)]
        if not exceeds_threshold(difference=r.billed - r.recorded, day_spend=spend, percent=percent):
            continue
        subject = f"{r.provider}:{r.team.slug if r.team else 'unmapped'}"
        explanation = _explanation(r, spend)
        difference = abs(r.billed - r.recorded)
        anomaly, _ = Anomaly.objects.record(
            dimension=Anomaly.Dimension.RECONCILIATION,
            subject=subject,
            team=r.team,
            day=r.day,
            amount=difference,
            baseline=r.billed,
            drivers=[Driver("scope", r.scopes or "(unscoped lines)", difference, Decimal(1))],
            explanation=explanation,
        )
        from .services import alert_raise  # services imports this module

        alert = alert_raise(
            kind=Alert.Kind.ANOMALY,
            subject=f"reconciliation:{subject}",
            period=r.day.isoformat(),
            team=r.team,
            message=explanation,
            anomaly=anomaly,
        )
        if alert is not None:
            alerts.append(alert)
    return alerts


def discount_check(*, since: date, until: date) -> list[Alert]:
    """Raise an anomaly and an alert, once each, for every provider, model and day whose realised
    discount (the bill's amount against its list amount) differs from the price table's by more
    than the threshold, in percentage points: a discount missing from the table, or one the
    provider stopped giving."""
    percent = ReconciliationSettings.current().threshold_percent
    alerts = []
    for d in realised_discounts(start=since, end=until, by_day=True):
        if d.gap <= percent:
            continue
        expected = d.listed * (100 - d.table_percent) / 100
        explanation = (
            f"{d.provider} {d.model} on {d.day.isoformat()}: billed {usd_exact(d.billed)} against "
            f"{usd_exact(d.listed)} at list price, a {d.realised_percent}% discount; the price table applies "
            f"{d.table_percent}%. Update the negotiated discount, or ask the provider why it changed."
        )
        subject = f"discount:{d.provider}:{d.model}"
        anomaly, _ = Anomaly.objects.record(
            dimension=Anomaly.Dimension.RECONCILIATION,
            subject=subject,
            team=None,
            day=d.day,
            amount=abs(d.billed - expected),
            baseline=expected,
            drivers=[Driver("model", d.model, abs(d.billed - expected), Decimal(1))],
            explanation=explanation,
        )
        from .services import alert_raise  # services imports this module

        alert = alert_raise(
            kind=Alert.Kind.ANOMALY,
            subject=f"reconciliation:{subject}",
            period=d.day.isoformat(),
            team=None,
            message=explanation,
            anomaly=anomaly,
        )
        if alert is not None:
            alerts.append(alert)
    return alerts
