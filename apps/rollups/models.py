"""The daily rollup: what every page and the costs API read instead of raw events."""

from __future__ import annotations

from django.db import models

from apps.org.models import Environment, Product, Team
from apps.pricing.fields import MoneyField
from apps.usage.models import ApiKey

# Rows whose spend has no team, or lacks tags its environment requires: the pages' "gaps".
GAPS = models.Q(team__isnull=True) | ~models.Q(missing_tags="")


class DailyRollup(models.Model):
    """Events of one UTC day summed per tag combination.

    Events without a known team land here with team NULL and `unattributed_reason` saying why
    (and `team_tag` the unknown value), so unattributed spend is a visible bucket, never dropped.
    """

    class Unattributed(models.TextChoices):
        ATTRIBUTED = "", "Attributed"
        MISSING = "missing", "Missing team tag"
        UNKNOWN = "unknown", "Unknown team"
        PROVIDER = "provider", "Reported by provider only, scope not mapped"

    day = models.DateField()
    # NULL on provider-only rows: spend a provider billed that no key's events recorded.
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, related_name="+")
    team_tag = models.CharField(max_length=128, blank=True, help_text="The unknown team value, when unattributed.")
    unattributed_reason = models.CharField(max_length=8, choices=Unattributed.choices, blank=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, related_name="+")
    feature = models.CharField(max_length=128, blank=True)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, null=True, related_name="+")
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128)
    model_family = models.CharField(
        max_length=128,
        default="",
        help_text="The priced model the name resolved to (dated snapshots share it); the name itself if unpriced.",
    )
    customer = models.CharField(max_length=128, blank=True)
    agent = models.CharField(max_length=128, blank=True)
    missing_tags = models.CharField(max_length=128, blank=True)
    adjusts_month = models.CharField(
        max_length=7, blank=True, help_text="YYYY-MM of the closed month these late events adjust; blank for most."
    )
    # Reconciliation compares the bill with events per provider scope (apps.billing.services.day_reconcile).
    provider_scope = models.CharField(max_length=255, blank=True)
    # Who made the calls (email or provider user id): the team page's Coding agents section.
    person = models.CharField(max_length=255, blank=True)

    requests = models.PositiveBigIntegerField()
    errors = models.PositiveBigIntegerField()
    traces = models.PositiveBigIntegerField(
        help_text="Distinct trace ids in this row (a trace spanning rows counts in each)."
    )
    input_tokens = models.PositiveBigIntegerField()
    output_tokens = models.PositiveBigIntegerField()
    cache_read_tokens = models.PositiveBigIntegerField()
    cache_write_tokens = models.PositiveBigIntegerField()
    reasoning_tokens = models.PositiveBigIntegerField()
    list_cost = MoneyField()
    billed_cost = MoneyField()
    cache_savings = MoneyField()
    unpriced = models.PositiveBigIntegerField(help_text="Events without a price (rated 0).")
    usage_missing = models.PositiveBigIntegerField(
        default=0, help_text="Calls reported without token counts (their cost is unknown, not 0)."
    )

    class Meta:
        indexes = [
            # "this team, this month, by product / model / customer / agent / day" reads by (team, day).
            models.Index(fields=["team", "day"], name="rollup_team_day"),
            models.Index(fields=["day"], name="rollup_day"),
            models.Index(fields=["day"], condition=GAPS, name="rollup_gaps_day"),
            models.Index(fields=["api_key", "day"], condition=GAPS, name="rollup_gaps_key_day"),
            models.Index(fields=["day"], condition=models.Q(usage_missing__gt=0), name="rollup_usage_missing_day"),
            models.Index(fields=["person", "day"], condition=~models.Q(person=""), name="rollup_person_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id or self.unattributed_reason} {self.model}"


class DailyBreakdown(models.Model):
    """One team's (or the unattributed bucket's) day summed along one dimension at a time.

    The pages ask "this team, this month, by product / model / customer / agent / day"; the
    rollup grain above crosses all those dimensions (and customers), so for a large company a
    team's month is ~100,000 rollup rows. Summed per dimension it is a few thousand, which a page
    reads in milliseconds. Built from the day's rollup rows in the same transaction
    (apps.rollups.services.day_rebuild); `dimension = "total"` holds the team's day.
    """

    class Dimension(models.TextChoices):
        TOTAL = "total"
        PRODUCT = "product"
        FEATURE = "feature"
        MODEL = "model"
        PROVIDER = "provider"
        ENVIRONMENT = "environment"
        CUSTOMER = "customer"
        AGENT = "agent"
        ADJUSTMENT = "adjustment"  # value: the closed month (YYYY-MM) late events adjust, '' for the rest

    day = models.DateField()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, related_name="+")
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    value = models.CharField(max_length=128, blank=True, help_text="Product and environment by slug; '' for none.")
    requests = models.PositiveBigIntegerField()
    errors = models.PositiveBigIntegerField()
    traces = models.PositiveBigIntegerField()
    input_tokens = models.PositiveBigIntegerField()
    output_tokens = models.PositiveBigIntegerField()
    list_cost = MoneyField()
    billed_cost = MoneyField()
    cache_savings = MoneyField()
    unpriced = models.PositiveBigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["team", "dimension", "day"], name="breakdown_team_dim_day"),
            models.Index(fields=["dimension", "day"], name="breakdown_dim_day"),
            # A large team's month has tens of thousands of customer rows: the team page sums them
            # from this index alone (apps.showback.selectors.team.team_customer_spend).
            models.Index(
                fields=["team", "day"],
                include=["value", "billed_cost", "requests", "input_tokens", "output_tokens"],
                condition=models.Q(dimension="customer"),
                name="breakdown_customer_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id} {self.dimension}={self.value}"
