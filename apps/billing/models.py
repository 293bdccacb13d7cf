"""Provider accounts, the lines providers billed, their usage reports, scope mappings, reconciliation."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models

from apps.org.models import Product, Team
from apps.pricing.fields import MoneyField
from apps.pricing.rating import TOKEN_FIELDS, TokenCounts

from .crypto import secret_decrypt, secret_encrypt

# The model name of spend the provider billed and no event recorded, in rollups and breakdowns:
# a team's model breakdown shows it as a line of its own.
PROVIDER_ONLY = "reported by provider only"
# The model name of spend events recorded beyond the bill: a negative line on the team that
# recorded it, so every total equals the bill (apps.billing.services.day_reconcile).
NOT_BILLED = "recorded, not billed"


class ProviderAccount(models.Model):
    """An organisation at a provider whose admin API reports what it billed."""

    class Provider(models.TextChoices):
        ANTHROPIC = "anthropic", "Anthropic"
        OPENAI = "openai", "OpenAI"

    class CostApi(models.TextChoices):
        ANALYTICS = "analytics", "Usage and Cost Analytics API (beta)"
        LEGACY = "legacy", "Cost report (legacy)"

    DEFAULT_BASES = {Provider.ANTHROPIC: "https://api.anthropic.com", Provider.OPENAI: "https://api.openai.com"}

    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField(max_length=128)
    api_key_encrypted = models.TextField(blank=True, help_text="Fernet token of the admin API key.")
    api_base = models.URLField(blank=True, help_text="Leave blank for the provider's public API.")
    api_key_base = models.URLField(
        blank=True, editable=False, help_text="The API base the admin key was entered for: it is sent to no other."
    )
    is_active = models.BooleanField(default=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    cost_api = models.CharField(
        max_length=16,
        choices=CostApi.choices,
        default=CostApi.ANALYTICS,
        help_text="Anthropic: which report the bill is pulled from. The analytics API gives cost per API key, "
        "person and service tier with list prices; an organisation without it falls back to the legacy report.",
    )
    cost_api_note = models.TextField(
        blank=True, editable=False, help_text="Why the last pull used another report than the one chosen."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="unique_provider_account_name")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.name}"

    @property
    def api_key(self) -> str:
        """The admin key, for the API base it was entered for only: after the base changes it is ""
        until entered again, so a new host never receives a key meant for another."""
        if self.api_key_base != self.base_url:
            return ""
        return secret_decrypt(self.api_key_encrypted)

    @api_key.setter
    def api_key(self, plain: str) -> None:
        """Set after `api_base`: the key is bound to the base in force when it is entered."""
        self.api_key_encrypted = secret_encrypt(plain)
        self.api_key_base = self.base_url if plain else ""

    @property
    def base_url(self) -> str:
        return (self.api_base or self.DEFAULT_BASES[self.provider]).rstrip("/")


class ProviderReport(models.Model):
    """The raw pages of one report pull, kept for audit."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="reports")
    endpoint = models.CharField(max_length=64)
    start = models.DateField()
    end = models.DateField(help_text="The last day pulled (inclusive).")
    fetched_at = models.DateTimeField(auto_now_add=True)
    pages = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.account} {self.endpoint} {self.start}..{self.end}"


class BillingImport(models.Model):
    """One FOCUS file imported: the period it replaced and what it kept."""

    file_name = models.CharField(max_length=255)
    billing_account_id = models.CharField(max_length=255, blank=True, help_text="The file's BillingAccountId(s).")
    imported_at = models.DateTimeField(auto_now_add=True)
    period_start = models.DateField(null=True)
    period_end = models.DateField(null=True, help_text="Last day with a kept row.")
    rows_read = models.PositiveIntegerField(default=0)
    rows_kept = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.file_name} ({self.period_start}..{self.period_end})"


class BillingLine(models.Model):
    """One day's charge of one scope as the provider billed it (a cost report row or a FOCUS row)."""

    class Source(models.TextChoices):
        API = "api", "Admin API"
        FOCUS = "focus", "FOCUS import"

    source = models.CharField(max_length=8, choices=Source.choices)
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, null=True, related_name="lines")
    billing_import = models.ForeignKey(BillingImport, on_delete=models.CASCADE, null=True, related_name="lines")
    provider = models.CharField(max_length=64, help_text="As events name it: anthropic, openai, aws.bedrock, …")
    day = models.DateField()
    scope = models.CharField(max_length=255, blank=True, help_text="Workspace, project or cloud sub-account id.")
    tags = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=512, blank=True)
    model = models.CharField(max_length=128, blank=True)
    billed_cost = MoneyField()
    effective_cost = MoneyField()
    list_cost = MoneyField(null=True, blank=True, help_text="Before discounts, where the report gives it.")
    api_key_id = models.CharField(max_length=255, blank=True, help_text="The provider's API key id, where given.")
    service_tier = models.CharField(max_length=16, blank=True)
    person = models.CharField(max_length=255, blank=True, help_text="The user or service account billed, where given.")
    is_partial = models.BooleanField(default=False, help_text="The provider's day was not over when pulled.")

    class Meta:
        indexes = [models.Index(fields=["day", "provider"], name="billing_line_day_provider")]

    def __str__(self) -> str:
        return f"{self.day} {self.provider} {self.scope} {self.billed_cost}"


class UsageLine(models.Model):
    """One day's tokens of one scope, key and model as the provider's usage report counted them.

    Token counts follow the canonical event: `input_tokens` is all input, cache included.
    """

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="usage_lines")
    provider = models.CharField(max_length=64)
    day = models.DateField()
    scope = models.CharField(max_length=255, blank=True)
    api_key_id = models.CharField(max_length=255, blank=True)
    model = models.CharField(max_length=128, blank=True)
    service_tier = models.CharField(max_length=16, default="standard")
    requests = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_1h_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "provider"], name="usage_line_day_provider")]

    def __str__(self) -> str:
        return f"{self.day} {self.provider} {self.scope} {self.model}"

    @property
    def tokens(self) -> TokenCounts:
        return TokenCounts(**{name: getattr(self, name, 0) for name in TOKEN_FIELDS})  # no reasoning count


class ScopeMapping(models.Model):
    """A provider scope (workspace, project, API key id, sub-account, or `key=value` cloud tag)
    that belongs to a team, and optionally one of its products."""

    provider = models.CharField(max_length=64)
    scope = models.CharField(max_length=255)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "scope"], name="unique_provider_scope")]

    def __str__(self) -> str:
        return f"{self.provider} {self.scope} → {self.team}"

    def clean(self) -> None:
        if self.product_id and self.team_id and self.product.team_id != self.team_id:
            raise ValidationError({"product": f"'{self.product.slug}' is a product of another team."})


class Reconciliation(models.Model):
    """One provider's day for one target (a mapped team, or the unmapped rest): billed vs recorded.

    Written by `apps.billing.services.day_reconcile` inside the day's rollup rebuild, so it always
    compares the bill with the rollup rows it sits next to.
    """

    class Basis(models.TextChoices):
        SCOPE = "scope", "Per provider scope"
        TEAM = "team", "Per team (events without a scope)"

    day = models.DateField()
    provider = models.CharField(max_length=64)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, related_name="+")
    scopes = models.CharField(max_length=1024, blank=True)
    billed = MoneyField()
    recorded = MoneyField()
    remainder = MoneyField(help_text="Billed beyond what events recorded: enters the rollups.")
    over_recorded = MoneyField(help_text="Recorded beyond the bill, with its cause.")
    not_billed = MoneyField(
        default=0,
        help_text="The over-recording that enters the rollups as a negative 'recorded, not billed' line on "
        "the team that recorded it, so totals equal the bill (0 while the provider's day is still running).",
    )
    basis = models.CharField(
        max_length=8,
        choices=Basis.choices,
        default=Basis.TEAM,
        help_text="Compared per provider scope (events named it), or per team (events without a scope).",
    )
    usage_priced = MoneyField(null=True, help_text="The usage report's tokens priced with the price table.")
    is_partial = models.BooleanField(default=False)
    cause = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["day", "provider"], name="reconciliation_day_provider")]

    def __str__(self) -> str:
        return f"{self.day} {self.provider} {self.team_id or 'unmapped'}"

    @property
    def difference(self) -> Decimal:
        return self.billed - self.recorded


class ReconciliationSettings(models.Model):
    """The one row of admin settings for reconciliation."""

    threshold_percent = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("2"), help_text="A day's difference above this share alerts."
    )

    class Meta:
        verbose_name_plural = "reconciliation settings"

    def __str__(self) -> str:
        return f"Alert above {self.threshold_percent}%"

    @classmethod
    def current(cls) -> ReconciliationSettings:
        return cls.objects.first() or cls()
