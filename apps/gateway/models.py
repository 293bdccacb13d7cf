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
