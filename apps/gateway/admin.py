"""Admin for provider credentials (the key is typed in once, stored encrypted and never shown again) and model rules."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from .credentials import credential_encrypt
from .models import ModelRule, ProviderCredential


class ProviderCredentialForm(forms.ModelForm):
    api_key = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="The provider's API key. Stored encrypted; leave empty to keep the current key "
        "(changing the provider requires it again).",
    )

    class Meta:
        model = ProviderCredential
        fields = ("provider", "team", "organization", "project", "provider_scope")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("api_key"):
            return cleaned
        if not self.instance.pk:
            self.add_error("api_key", "Give the provider's API key.")
        elif "provider" in self.changed_data:
            # The stored key is never kept across providers: it would be sent to another upstream.
            self.add_error("api_key", "The provider changed: enter the API key for the new provider.")
        return cleaned

    def save(self, commit=True):
        raw_key = self.cleaned_data.get("api_key")
        if raw_key:
            self.instance.encrypted_key = credential_encrypt(raw_key)
            self.instance.key_hint = raw_key[-4:]
        return super().save(commit=commit)


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    form = ProviderCredentialForm
    list_display = ("provider", "team", "key_hint", "organization", "project", "provider_scope", "updated_at")
    list_filter = ("provider",)


@admin.register(ModelRule)
class ModelRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "mode",
        "team",
        "product",
        "environment",
        "feature",
        "max_output_tokens",
        "over_cap",
        "active",
    )
    list_filter = ("mode", "active", "team")
    search_fields = ("name", "allowed_models", "denied_models")
    fieldsets = (
        (None, {"fields": ("name", "mode", "active")}),
        ("Applies to calls of (empty: any)", {"fields": ("team", "product", "environment", "feature")}),
        ("Models", {"fields": ("allowed_models", "denied_models")}),
        ("Output", {"fields": ("max_output_tokens", "over_cap")}),
    )
