"""Shared-cost rules (edited in the admin) and their results, kept with the basis of every split."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models

from apps.org.models import Environment, Product, Team
from apps.pricing.fields import MoneyField


class SharedCostRule(models.Model):
    class Source(models.TextChoices):
        SHARED_TEAM = "shared_team", "Direct spend of a shared team"
        UNATTRIBUTED = "unattributed", "Unattributed spend"
        FIXED = "fixed", "A fixed amount per month"

    class Method(models.TextChoices):
        BILLED_COST = "billed_cost", "In proportion to billed cost"
        TOKENS = "tokens", "In proportion to tokens"
        REQUESTS = "requests", "In proportion to requests"
        EVEN = "even", "Even split"
        FIXED_PERCENT = "fixed_percent", "Fixed percentages"

        @property
        def phrase(self) -> str:
            """How a team's share was worked out, as the team reads it."""
            return {
                "billed_cost": "by your share of billed cost",
                "tokens": "by your share of tokens",
                "requests": "by your share of requests",
                "even": "split evenly",
                "fixed_percent": "your fixed percentage",
            }[self.value]

    name = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=Source.choices)
    source_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="For a shared team source."
    )
    monthly_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="For a fixed source: USD per month."
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, help_text="Only the source's spend on this product."
    )
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, null=True, blank=True, help_text="Only the source's spend here."
    )
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.BILLED_COST)
    all_teams = models.BooleanField(
        default=True, help_text="Split onto every team that is not shared; otherwise onto the teams listed below."
    )
    effective_from = models.DateField()
    effective_until = models.DateField(null=True, blank=True, help_text="Last day the rule applies; blank: open.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.source == self.Source.SHARED_TEAM and self.source_team_id is None:
            errors["source_team"] = "Choose the shared team whose spend is split."
        if self.source == self.Source.SHARED_TEAM and self.source_team_id and not self.source_team.is_shared:
            errors["source_team"] = (
                "Mark the team as shared first: its spend is then split instead of shown as its own."
            )
        if self.source == self.Source.FIXED and (self.monthly_amount is None or self.monthly_amount <= 0):
            errors["monthly_amount"] = "A fixed source needs a positive monthly amount."
        if self.source != self.Source.SHARED_TEAM and self.source_team_id:
            errors["source_team"] = "Only a shared-team source has a source team."
        if self.source == self.Source.FIXED and (self.product_id or self.environment_id):
            errors["product" if self.product_id else "environment"] = (
                "A fixed monthly amount is not metered spend: it has no product or environment to narrow to."
            )
        if self.method == self.Method.FIXED_PERCENT and self.all_teams:
            errors["all_teams"] = "Fixed percentages need the teams listed, each with its percentage."
        if self.effective_until and self.effective_until < self.effective_from:
            errors["effective_until"] = "Must not be before the start."
        if not errors and self.source != self.Source.FIXED:
            overlap = self.overlapping_rules().first()
            if overlap is not None:
                errors["source"] = (
                    f"The rule “{overlap}” already splits this spend on some of these days; the same "
                    "dollars would be allocated twice. End it, or narrow one rule to another product "
                    "or environment."
                )
        if errors:
            raise ValidationError(errors)

    def overlapping_rules(self):
        """Other rules splitting the same spend on a shared day: same source, overlapping dates,
        and product and environment filters that can both match one event."""
        others = SharedCostRule.objects.filter(source=self.source, source_team_id=self.source_team_id).exclude(
            pk=self.pk
        )
        if self.effective_until:
            others = others.filter(effective_from__lte=self.effective_until)
        others = others.filter(
            models.Q(effective_until__isnull=True) | models.Q(effective_until__gte=self.effective_from)
        )
        if self.product_id:
            others = others.filter(models.Q(product__isnull=True) | models.Q(product_id=self.product_id))
        if self.environment_id:
            others = others.filter(models.Q(environment__isnull=True) | models.Q(environment_id=self.environment_id))
        return others


class RuleTarget(models.Model):
    rule = models.ForeignKey(SharedCostRule, on_delete=models.CASCADE, related_name="targets")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    percent = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True, help_text="For fixed percentages; they sum to 100."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "team"], name="unique_rule_target")]

    def __str__(self) -> str:
        return f"{self.team} ({self.percent}%)" if self.percent is not None else str(self.team)

    def clean(self) -> None:
        if self.team_id and self.team.is_shared:
            raise ValidationError({"team": "A shared team cannot receive shared costs (its spend is split itself)."})
        if self.percent is not None and not Decimal(0) <= self.percent <= Decimal(100):
            raise ValidationError({"percent": "Give a percentage between 0 and 100."})


class AllocationResult(models.Model):
    """One team's share of one rule's source on one day, with the figures that explain it."""

    day = models.DateField()
    # PROTECT: deleting a rule would erase what closed months were allocated; end it instead.
    rule = models.ForeignKey(SharedCostRule, on_delete=models.PROTECT, related_name="results")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    source_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, related_name="+", help_text="Whose spend this came out of."
    )
    method = models.CharField(max_length=16, choices=SharedCostRule.Method.choices, help_text="As applied.")
    fell_back_to_even = models.BooleanField(default=False, help_text="No target had usage, so the split was even.")
    amount = MoneyField()
    source_amount = MoneyField()
    basis = models.DecimalField(max_digits=30, decimal_places=9)
    basis_total = models.DecimalField(max_digits=30, decimal_places=9)
    share = models.DecimalField(max_digits=12, decimal_places=9)

    class Meta:
        indexes = [
            models.Index(fields=["team", "day"], name="allocation_team_day"),
            models.Index(fields=["day"], name="allocation_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.rule}: {self.amount} to {self.team}"
