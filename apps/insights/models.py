"""Savings opportunities, the admin-set thresholds that find them, and the routing candidates."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.org.models import Product, Team
from apps.pricing.fields import MoneyField
from apps.usage.models import ApiKey

SHARE = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]
HOUR = [MaxValueValidator(24)]


class SavingsSettings(models.Model):
    """The thresholds every detector reads: one row (pk=1), edited in the admin."""

    min_monthly_saving = MoneyField(default=Decimal("1"), help_text="Smaller opportunities are not listed.")
    routing_max_input_tokens = models.PositiveIntegerField(default=2000, help_text="A routine call's input at most.")
    routing_max_output_tokens = models.PositiveIntegerField(default=500, help_text="A routine call's output at most.")
    routing_min_routine_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.8"),
        validators=SHARE,
        help_text="Share of a scope's calls that are routine.",
    )
    min_calls = models.PositiveIntegerField(default=50, help_text="Calls in 28 days before a scope is judged.")
    caching_min_input_per_call = models.PositiveIntegerField(default=4000)
    caching_max_read_share = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.1"), validators=SHARE
    )
    caching_target_read_share = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.5"), validators=SHARE
    )
    caching_reads_per_write = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text="Calls served by one cache write of the shared prefix (5-minute lifetime).",
    )
    batch_off_hours_share = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.8"), validators=SHARE
    )
    working_hours_start = models.PositiveSmallIntegerField(default=8, validators=HOUR)
    working_hours_end = models.PositiveSmallIntegerField(default=18, validators=HOUR)
    working_timezone = models.CharField(max_length=64, default="UTC")
    nonprod_max_share = models.DecimalField(
        max_digits=5, decimal_places=3, default=Decimal("0.25"), help_text="Non-production spend per production dollar."
    )
    tail_ratio = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("5"), validators=[MinValueValidator(Decimal(1))]
    )
    tail_max_events = models.PositiveIntegerField(
        default=50000, help_text="Most recent calls per feature read for the tail (bounds the query)."
    )
    drift_percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("20"))

    class Meta:
        verbose_name = verbose_name_plural = "savings settings"

    def __str__(self) -> str:
        return "Savings settings"

    def clean(self) -> None:
        calendar_check(self)

    @classmethod
    def current(cls) -> SavingsSettings:
        return cls.objects.get_or_create(pk=1)[0]


def calendar_check(calendar) -> None:
    """Working hours (weekdays, local time) of the organisation or of a team."""
    try:
        ZoneInfo(calendar.working_timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError({"working_timezone": "Give an IANA time zone, e.g. Europe/Paris."}) from exc
    if calendar.working_hours_start >= calendar.working_hours_end:
        raise ValidationError({"working_hours_end": "Working hours must end after they start."})


class TeamCalendar(models.Model):
    """A team's own working hours, where they differ from the organisation's (the batch detector
    reads "outside working hours" on the owner's calendar)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="calendar")
    working_hours_start = models.PositiveSmallIntegerField(default=8, validators=HOUR)
    working_hours_end = models.PositiveSmallIntegerField(default=18, validators=HOUR)
    working_timezone = models.CharField(max_length=64, default="UTC", help_text="IANA, e.g. America/New_York.")

    def __str__(self) -> str:
        return f"{self.team}: {self.working_hours_start}:00–{self.working_hours_end}:00 {self.working_timezone}"

    def clean(self) -> None:
        calendar_check(self)


class RoutingCandidate(models.Model):
    """A model and its cheaper sibling that routine calls could be routed to."""

    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128)
    cheaper_model = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "model"], name="routing_candidate_unique")]
        ordering = ["provider", "model"]

    def __str__(self) -> str:
        return f"{self.provider}: {self.model} → {self.cheaper_model}"


class AsyncScope(models.Model):
    """A feature or agent an admin marks as asynchronous: its calls could go through a batch API."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, help_text="Blank: any team.")
    feature = models.CharField(max_length=128, blank=True)
    agent = models.CharField(max_length=128, blank=True)

    class Meta:
        verbose_name = "asynchronous feature or agent"

    def __str__(self) -> str:
        return f"{self.team or 'any team'}: {self.feature or '-'} / {self.agent or '-'}"


class Opportunity(models.Model):
    """One way to spend less, with its owner scope, monthly saving, evidence and lifecycle."""

    class Lever(models.TextChoices):
        ROUTING = "routing", "Model routing"
        CACHING = "caching", "Prompt caching"
        BATCH = "batch", "Batch API"
        NONPROD = "nonprod", "Non-production spend"
        UNBOUNDED_OUTPUT = "unbounded_output", "Unbounded output"
        BLOATED_CONTEXT = "bloated_context", "Bloated context"
        PAID_FAILURES = "paid_failures", "Paid failures"
        UNIT_COST_DRIFT = "unit_cost_drift", "Unit-cost drift"

    class Status(models.TextChoices):
        OPEN = "open"
        ACCEPTED = "accepted"
        DONE = "done"
        DISMISSED = "dismissed"

    lever = models.CharField(max_length=20, choices=Lever.choices)
    fingerprint = models.CharField(max_length=400, unique=True, help_text="Lever and scope: one row per finding.")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    feature = models.CharField(max_length=128, blank=True)
    agent = models.CharField(max_length=128, blank=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    provider = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=128, blank=True)
    monthly_saving = MoneyField()
    sentence = models.TextField()
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    due_on = models.DateField(null=True, blank=True, help_text="When the owner means to have it done.")
    dismissed_reason = models.CharField(max_length=500, blank=True)
    dismissed_saving = MoneyField(null=True, blank=True)
    first_found = models.DateField(default=timezone.now)
    last_found = models.DateField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    before_unit_cost = MoneyField(null=True, blank=True, help_text="Cost per request, 14 days before done.")
    after_unit_cost = MoneyField(null=True, blank=True, help_text="Cost per request, 14 days after done.")
    realised_monthly_saving = MoneyField(null=True, blank=True)
    measured_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "opportunities"
        ordering = ["-monthly_saving"]
        indexes = [models.Index(fields=["team", "status"], name="opportunity_team_status")]

    def __str__(self) -> str:
        return f"{self.get_lever_display()}: {self.team} {self.monthly_saving}"
