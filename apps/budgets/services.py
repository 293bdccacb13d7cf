"""Raising alerts (once per subject, kind and period) and delivering them by email and webhook."""

from __future__ import annotations

import json
import urllib.request
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.org.models import Team, TeamMembership
from apps.org.selectors import FINANCE_GROUP
from apps.pricing.money import usd
from attribution_site.periods import MonthPeriod

from .changes import month_change_check
from .detection import anomalies_detect_daily, anomalies_detect_hourly
from .models import Alert, Anomaly, Delivery, Webhook
from .reconciliation import RECONCILIATION_LOOKBACK_DAYS, discount_check, reconciliation_check
from .selectors import budget_status, budgets_in_force


def _recipients(team: Team | None) -> list[str]:
    """A team's leads; for the organisation, the finance group."""
    users = get_user_model().objects.exclude(email="")
    if team is not None:
        users = users.filter(team_memberships__team=team, team_memberships__role=TeamMembership.Role.LEAD)
    else:
        users = users.filter(groups__name=FINANCE_GROUP)
    return sorted(set(users.values_list("email", flat=True)))


def alert_raise(
    *, kind: str, subject: str, period: str, team: Team | None, message: str, anomaly: Anomaly | None = None
) -> Alert | None:
    """Create the alert and queue its deliveries, or return None if it was raised before.

    The unique constraint on (subject, kind, period) decides, so repeated or concurrent checks,
    and checks after a worker restart, raise it exactly once.
    """
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind, subject=subject, period=period, team=team, message=message, anomaly=anomaly
            )
            deliveries = [
                Delivery(alert=alert, channel=Delivery.Channel.EMAIL, target=email) for email in _recipients(team)
            ]
            webhooks = Webhook.objects.filter(is_active=True).filter(team__isnull=True)
            if team is not None:
                webhooks = webhooks | Webhook.objects.filter(is_active=True, team=team)
            deliveries += [
                Delivery(alert=alert, channel=Delivery.Channel.WEBHOOK, target=hook.url, webhook=hook)
                for hook in webhooks
            ]
            Delivery.objects.bulk_create(deliveries)
    except IntegrityError:
        return None
    from .tasks import deliver

    ids = [d.pk for d in Delivery.objects.filter(alert=alert)]
    transaction.on_commit(lambda: [deliver.delay(pk) for pk in ids])
    return alert


def budgets_check(*, today: date) -> list[Alert]:
    """Thresholds crossed and forecasts above budget for the running month."""
    period = MonthPeriod.parse(None, today=today)
    raised = []
    for budget in budgets_in_force(month=period.start):
        status = budget_status(budget=budget, period=period)
        month = period.key
        if status.thresholds_crossed:
            # Several thresholds crossed since the last check are one event: one alert, naming the
            # highest. The lower ones are not raised afterwards (their news is old).
            threshold = status.thresholds_crossed[-1]
            raised.append(
                alert_raise(
                    kind=Alert.Kind.THRESHOLD,
                    subject=budget.subject,
                    period=f"{month}@{threshold}%",
                    team=budget.team,
                    message=(
                        f"{budget.scope_label} has used {status.used * 100:.0f}% of its {month} budget, past "
                        f"its {threshold}% threshold: {usd(status.actual)} of {usd(status.amount)}."
                    ),
                )
            )
        if status.forecast_over:
            raised.append(
                alert_raise(
                    kind=Alert.Kind.FORECAST,
                    subject=budget.subject,
                    period=month,
                    team=budget.team,
                    message=(
                        f"{budget.scope_label} is forecast to spend {usd(status.forecast.month_end)} in {month} "
                        f"(between {usd(status.forecast.low)} and {usd(status.forecast.high)}), "
                        f"over its {usd(status.amount)} budget."
                    ),
                )
            )
    return [a for a in raised if a is not None]


def anomalies_check(*, now: datetime) -> list[Alert]:
    """Detect yesterday's and today's daily anomalies and the last complete hour's runaways."""
    last_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    anomalies = [
        *anomalies_detect_daily(day=now.date() - timedelta(days=1)),
        *anomalies_detect_daily(day=now.date()),
        *anomalies_detect_hourly(hour=last_hour),
    ]
    return anomalies_alert(anomalies=anomalies)


def anomalies_alert(*, anomalies: list[Anomaly]) -> list[Alert]:
    """One alert per anomaly, except that a runaway flagged hour after hour alerts once a day."""
    raised = [
        alert_raise(
            kind=Alert.Kind.ANOMALY,
            subject=f"{a.dimension}:{a.subject}",
            period=a.period if a.hour is None else f"{a.day.isoformat()}/hourly",
            team=a.team,
            message=a.explanation,
            anomaly=a,
        )
        for a in anomalies
    ]
    return [a for a in raised if a is not None]


def spend_check(*, now: datetime | None = None) -> list[Alert]:
    """The budget and anomaly checks; also resends deliveries whose task was lost."""
    now = now or timezone.now()
    raised = [*budgets_check(today=now.date()), *anomalies_check(now=now)]
    raised += reconciliation_check(since=now.date() - timedelta(days=RECONCILIATION_LOOKBACK_DAYS))
    raised += discount_check(since=now.date() - timedelta(days=RECONCILIATION_LOOKBACK_DAYS), until=now.date())
    raised += month_change_check(today=now.date())
    deliveries_resend_stalled(now=now)
    return raised


class DeliveryFailed(Exception):
    def __init__(self, error: str, *, attempts: int):
        super().__init__(error)
        self.attempts = attempts


def _send(delivery: Delivery) -> None:
    if delivery.channel == Delivery.Channel.EMAIL:
        send_mail(
            subject=f"[LLM spend] {delivery.alert.get_kind_display()}",
            message=delivery.alert.message,
            from_email=None,
            recipient_list=[delivery.target],
        )
        return
    body = json.dumps({"text": slack_escape(delivery.alert.message)}).encode()
    request = urllib.request.Request(
        delivery.target, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
        if response.status >= 300:
            raise DeliveryFailed(f"HTTP {response.status}", attempts=delivery.attempts)


def slack_escape(text: str) -> str:
    """Tag values in a message are the clients' text: `<!channel>` or `<url|label>` in an agent's
    name must reach Slack as text, not as a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def delivery_send(*, delivery_id: int) -> str:
    """One attempt at a pending delivery; its status afterwards. Raises DeliveryFailed when the
    attempt failed and another is allowed."""
    delivery = Delivery.objects.select_related("alert").get(pk=delivery_id)
    if delivery.status != Delivery.Status.PENDING:
        return delivery.status  # sent, or given up on: a repeated task sends nothing twice
    # Claim the attempt: of two tasks holding the same delivery (a retry and a resend), one sends.
    now = timezone.now()
    claimed = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING, attempts=delivery.attempts)
    if not claimed.update(attempts=F("attempts") + 1, last_attempt_at=now):
        return Delivery.Status.PENDING
    delivery.attempts += 1
    try:
        _send(delivery)
    except Exception as exc:  # whatever the receiver did, it is one failed attempt, recorded
        error = f"{type(exc).__name__}: {exc}"[:2000]
        given_up = delivery.attempts >= settings.ALERT_DELIVERY_ATTEMPTS
        status = Delivery.Status.FAILED if given_up else Delivery.Status.PENDING
        Delivery.objects.filter(pk=delivery.pk).update(status=status, last_error=error)
        if given_up:
            return status
        raise DeliveryFailed(error, attempts=delivery.attempts) from exc
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT, sent_at=timezone.now(), last_error="")
    return Delivery.Status.SENT


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt."""
    return timedelta(seconds=settings.ALERT_RETRY_BACKOFF_SECONDS * 2 ** (attempts - 1))


def deliveries_resend_stalled(*, now: datetime) -> list[int]:
    """Queue again the pending deliveries whose task was lost: never attempted a minute after the
    alert (the broker was down at commit), or not retried when their backoff ran out (a worker
    died; tasks run in-process, where nothing retries later)."""
    grace = timedelta(seconds=60)
    stalled = [
        d.pk
        for d in Delivery.objects.filter(status=Delivery.Status.PENDING).select_related("alert")
        if (d.last_attempt_at + retry_delay(d.attempts) + grace if d.last_attempt_at else d.alert.created_at + grace)
        < now
    ]
    from .tasks import deliver

    for pk in stalled:
        deliver.delay(pk)
    return stalled


def anomaly_acknowledge(*, anomaly: Anomaly, user) -> Anomaly:
    if anomaly.acknowledged_at is None:
        anomaly.acknowledged_by, anomaly.acknowledged_at = user, timezone.now()
        anomaly.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return anomaly
