"""Provider credentials the gateway sends upstream, per team or for the whole organisation."""

from __future__ import annotations

from django.db import models

from apps.org.models import Team


class ProviderCredential(models.Model):
    """A provider API key, stored encrypted (Fernet, key from GATEWAY_CREDENTIALS_KEY). A team's
    own credential wins over the organisation's (no team), which wins over the environment's."""

    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="provider_credentials",
        help_text="Leave empty for the organisation's credential, used by teams without their own.",
    )
    organization = models.CharField(
        max_length=128,
        blank=True,
        help_text="OpenAI only: sent as OpenAI-Organization (a client's own header is never forwarded).",
    )
    project = models.CharField(
        max_length=128,
        blank=True,
        help_text="OpenAI only: sent as OpenAI-Project (a client's own header is never forwarded).",
    )
    provider_scope = models.CharField(
        max_length=255,
        blank=True,
        help_text="The workspace (Anthropic) or project (OpenAI) this key bills to, stored on every call's "
        "event for reconciliation. OpenAI: blank uses the project above; the provider's openai-project "
        "response header wins over both.",
    )
    encrypted_key = models.TextField(editable=False)
    key_hint = models.CharField(max_length=16, editable=False, help_text="The key's last characters.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "team"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "team"],
                condition=models.Q(team__isnull=False),
                name="unique_team_provider_credential",
                violation_error_message="This team already has a credential for that provider.",
            ),
            models.UniqueConstraint(
                fields=["provider"],
                condition=models.Q(team__isnull=True),
                name="unique_organisation_provider_credential",
                violation_error_message="The organisation already has a credential for that provider.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} key …{self.key_hint} ({self.team or 'organisation'})"


class ModelRule(models.Model):
    """Which models a workload may call, and how much output it may ask for, checked by the gateway
    before a call is forwarded. A rule applies to a call matching every scope it names (team,
    product, environment, feature); one naming none applies to every call."""

    class Mode(models.TextChoices):
        ENFORCE = "enforce", "Enforce: refuse the call (403)"
        WARN = "warn", "Warn: let it through, flag its event and count it"

    class OverCap(models.TextChoices):
        REFUSE = "refuse", "Refuse the call"
        CLAMP = "clamp", "Lower the request to the cap"

    name = models.CharField(max_length=100, unique=True, help_text="Named in every refusal and warning.")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="model_rules")
    product = models.ForeignKey(
        "org.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="model_rules"
    )
    environment = models.ForeignKey(
        "org.Environment", on_delete=models.CASCADE, null=True, blank=True, related_name="model_rules"
    )
    feature = models.CharField(max_length=128, blank=True, help_text="A feature tag, as events store it.")
    allowed_models = models.TextField(
        blank=True,
        help_text="Model patterns, one per line or comma-separated, `*` as a wildcard (e.g. gpt-4o-mini*, "
        "claude-haiku-*). Empty: every model not denied.",
    )
    denied_models = models.TextField(blank=True, help_text="Model patterns refused even when allowed.")
    max_output_tokens = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Cap on max_tokens / max_completion_tokens / max_output_tokens. A request without "
        "one asks for the provider's default and is held to the cap only when clamping.",
    )
    over_cap = models.CharField(max_length=8, choices=OverCap.choices, default=OverCap.REFUSE)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.ENFORCE)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def patterns(text: str) -> list[str]:
        return [p.strip().lower() for p in text.replace(",", "\n").splitlines() if p.strip()]


class ModelRuleHit(models.Model):
    """How many calls a model rule refused, warned about or clamped, per day and team charged."""

    class Outcome(models.TextChoices):
        REFUSED = "refused"
        WARNED = "warned"
        CLAMPED = "clamped"

    rule = models.ForeignKey(ModelRule, on_delete=models.CASCADE, related_name="hits")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="model_rule_hits")
    day = models.DateField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "team", "day", "outcome"], name="unique_model_rule_hit"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.outcome} ×{self.count} ({self.team}, {self.day})"
