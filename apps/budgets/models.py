"""Budgets (edited in the admin), detected anomalies, alerts and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.org.models import Product, Team
from apps.pricing.fields import MoneyField
from apps.pricing.money import usd

from .anomalies import Driver


def default_thresholds() -> list[int]:
    return [50, 80, 100]


class Budget(models.Model):
    """A monthly budget for a team, a team's product, or (neither) the whole organisation,
    in force from `effective_from`'s month until a later budget for the same scope."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="budgets")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="budgets")
    monthly_amount = models.DecimalField(max_digits=14, decimal_places=2)
    effective_from = models.DateField(help_text="The first month it applies to (any day of that month).")
    thresholds = models.JSONField(default=default_thresholds, help_text="Percentages that raise an alert when crossed.")
    include_allocated = models.BooleanField(default=True, help_text="Count shared costs allocated to the team.")
    hard_limit = models.BooleanField(
        default=False, help_text="Once the month's budget is spent, the gateway refuses the scope's calls (429)."
    )

    class Meta:
        ordering = ["team", "product", "-effective_from"]
        # One budget per scope and month. NULLs are distinct in a plain unique constraint, so the
        # organisation's and a team's own budget (no product) need constraints of their own.
        constraints = [
            models.UniqueConstraint(
                fields=["team", "product", "effective_from"],
                condition=models.Q(product__isnull=False),
                name="unique_product_budget_month",
                violation_error_message="This product already has a budget from that month.",
            ),
            models.UniqueConstraint(
                fields=["team", "effective_from"],
                condition=models.Q(team__isnull=False, product__isnull=True),
                name="unique_team_budget_month",
                violation_error_message="This team already has a budget from that month.",
            ),
            models.UniqueConstraint(
                fields=["effective_from"],
                condition=models.Q(team__isnull=True, product__isnull=True),
                name="unique_organisation_budget_month",
                violation_error_message="The organisation already has a budget from that month.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope_label}: {usd(self.monthly_amount)}/month from {self.effective_from:%Y-%m}"

    def save(self, *args, **kwargs):
        self.effective_from = self.effective_from.replace(day=1)
        super().save(*args, **kwargs)

    @property
    def scope_label(self) -> str:
        if self.product_id:
            return f"{self.product.name} ({self.product.team.name})"
        return self.team.name if self.team_id else "Organisation"

    @property
    def subject(self) -> str:
        if self.product_id:
            return f"product:{self.product.slug}"
        return f"team:{self.team.slug}" if self.team_id else "organisation"

    def clean(self) -> None:
        if self.effective_from:
            self.effective_from = self.effective_from.replace(day=1)
        if self.product_id and self.team_id and self.product.team_id != self.team_id:
            raise ValidationError({"product": "The product belongs to another team."})
        if self.product_id and not self.team_id:
            self.team = self.product.team
        if self.monthly_amount is not None and self.monthly_amount <= 0:
            raise ValidationError({"monthly_amount": "A budget must be positive."})
        if not isinstance(self.thresholds, list) or not all(
            isinstance(t, int) and not isinstance(t, bool) and 0 < t <= 1000 for t in self.thresholds
        ):
            raise ValidationError({"thresholds": "Give a list of whole percentages, e.g. [50, 80, 100]."})


class AnomalyManager(models.Manager):
    def record(
        self,
        *,
        dimension: str,
        subject: str,
        team: Team | None,
        day: date,
        hour: int | None = None,
        amount: Decimal,
        baseline: Decimal,
        drivers: Sequence[Driver],
        explanation: str,
    ) -> tuple[Anomaly, bool]:
        """Create or refresh the anomaly of (dimension, subject, period): every kind is written here,
        so each has what the pages read (typed drivers, a day, an amount and a baseline)."""
        if dimension not in Anomaly.Dimension.values:
            raise ValueError(f"Unknown anomaly dimension {dimension!r}.")
        period = day.isoformat() if hour is None else f"{day.isoformat()}T{hour:02d}"
        return self.update_or_create(
            dimension=dimension,
            subject=subject,
            period=period,
            defaults={
                "team": team,
                "day": day,
                "hour": hour,
                "amount": amount,
                "baseline": baseline,
                "drivers": [d.as_dict() for d in drivers],
                "explanation": explanation,
            },
        )


class Anomaly(models.Model):
    """Spend far above its own trailing baseline (or a bill far from recorded spend), with the
    drivers of the difference. Written only through `Anomaly.objects.record`."""

    class Dimension(models.TextChoices):
        TEAM = "team"
        PRODUCT = "product"
        FEATURE = "feature"
        AGENT = "agent"
        ENVIRONMENT = "environment"
        RECONCILIATION = "reconciliation", "Provider bill vs recorded"
        MONTH_CHANGE = "month_change", "Month so far vs the same days of last month"

    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    subject = models.CharField(max_length=128, help_text="The team, product, feature, agent or environment.")
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, related_name="anomalies", help_text="Whose page shows it."
    )
    day = models.DateField()
    hour = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Set for hourly (runaway) anomalies.")
    period = models.CharField(max_length=16, help_text="The day, or day and hour: 2026-11-24 or 2026-11-24T14.")
    amount = MoneyField()
    baseline = MoneyField(help_text="Typical spend: the median of the trailing window.")
    drivers = models.JSONField(default=list)
    explanation = models.TextField()
    detected_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    objects = AnomalyManager()

    class Meta:
        ordering = ["-day", "-amount"]
        verbose_name_plural = "anomalies"
        constraints = [
            models.UniqueConstraint(fields=["dimension", "subject", "period"], name="unique_anomaly"),
        ]

    def __str__(self) -> str:
        return self.explanation

    @property
    def driver_list(self) -> list[Driver]:
        return [Driver.from_dict(d) for d in self.drivers]


class Alert(models.Model):
    """Raised once per (subject, kind, period): the unique constraint, not a lookup, ensures it."""

    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "Budget threshold crossed"
        FORECAST = "forecast", "Forecast above budget"
        ANOMALY = "anomaly", "Spend anomaly"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=160, help_text="e.g. team:search, product:answers, organisation")
    period = models.CharField(max_length=32, help_text="The month, day or hour it is about; with a threshold level.")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts")
    message = models.TextField()
    anomaly = models.ForeignKey(Anomaly, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["subject", "kind", "period"], name="unique_alert")]

    def __str__(self) -> str:
        return self.message


class Webhook(models.Model):
    """A Slack-compatible incoming webhook: alerts are POSTed as {"text": message}."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, help_text="Blank: every alert of the organisation."
    )
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    target = models.CharField(max_length=500, help_text="Email address or webhook URL.")
    webhook = models.ForeignKey(Webhook, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.channel} to {self.target}: {self.status}"


class ChangeSettings(models.Model):
    """One row: how far a team's month so far may rise on the same days of last month before it is
    an anomaly (apps.budgets.changes.month_change_check)."""

    threshold_percent = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        default=Decimal("20"),
        help_text="A rise above this percentage raises an anomaly. Blank: never.",
    )
    min_change = MoneyField(default=Decimal("10"), help_text="Smaller rises (in dollars) raise nothing.")

    class Meta:
        verbose_name = verbose_name_plural = "month change settings"

    def __str__(self) -> str:
        if self.threshold_percent is None:
            return "Month changes raise no anomaly"
        return f"Anomaly above +{self.threshold_percent}% and ${self.min_change:.2f}"

    @classmethod
    def current(cls) -> ChangeSettings:
        return cls.objects.first() or cls()
