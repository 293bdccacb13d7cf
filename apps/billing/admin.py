"""Admin: provider accounts (admin key write-only), scope mappings, FOCUS uploads, the bill's lines."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path

from .focus_import import FocusImportError, billing_import
from .models import (
    BillingImport,
    BillingLine,
    ProviderAccount,
    ProviderReport,
    Reconciliation,
    ReconciliationSettings,
    ScopeMapping,
)
from .services import provider_days_mark_dirty
from .tasks import refresh_dirty_days_later


class ProviderAccountForm(forms.ModelForm):
    new_api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="Admin API key",
        help_text="Stored encrypted; leave blank to keep the current key.",
    )
    api_base = forms.URLField(
        required=False, assume_scheme="https", help_text="Leave blank for the provider's public API."
    )

    class Meta:
        model = ProviderAccount
        fields = ("provider", "name", "new_api_key", "api_base", "cost_api", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cost_api"].required = False  # Anthropic only: left out, the account keeps its choice

    def clean_cost_api(self) -> str:
        return self.cleaned_data.get("cost_api") or self.instance.cost_api

    def _post_clean(self):
        super()._post_clean()  # the instance now has the submitted provider and API base
        account = self.instance
        moved = account.api_key_encrypted and account.api_key_base != account.base_url
        if moved and not self.cleaned_data.get("new_api_key"):
            self.add_error(
                "new_api_key",
                f"Enter the admin key again for {account.base_url}: the stored key was entered for "
                f"{account.api_key_base} and is sent to no other host.",
            )

    def save(self, commit=True):
        if self.cleaned_data.get("new_api_key"):
            self.instance.api_key = self.cleaned_data["new_api_key"]
        elif self.instance.api_key_base != self.instance.base_url:
            self.instance.api_key = ""  # the provider or its base changed: the old key is forgotten
        return super().save(commit=commit)


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    form = ProviderAccountForm
    list_display = (
        "name",
        "provider",
        "api_base",
        "cost_api",
        "is_active",
        "last_synced_at",
        "last_error_at",
        "last_error",
        "cost_api_note",
    )
    readonly_fields = ("last_synced_at", "last_error", "last_error_at", "cost_api_note")

    def get_fields(self, request, obj=None):
        return (*ProviderAccountForm.Meta.fields, *self.readonly_fields)


@admin.register(ScopeMapping)
class ScopeMappingAdmin(admin.ModelAdmin):
    list_display = ("provider", "scope", "team", "product")
    list_filter = ("provider", "team")
    search_fields = ("scope",)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        previous = ScopeMapping.objects.filter(pk=obj.pk).values_list("provider", flat=True).first()
        super().save_model(request, obj, form, change)
        for provider in {obj.provider, previous} - {None}:
            provider_days_mark_dirty(provider=provider)
        refresh_dirty_days_later()

    @transaction.atomic
    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        provider_days_mark_dirty(provider=obj.provider)
        refresh_dirty_days_later()


class FocusUploadForm(forms.Form):
    file = forms.FileField(help_text="FOCUS 1.0–1.2: CSV, gzip CSV or Parquet.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.BILLING_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size:,} bytes; files up to {limit:,} bytes are taken "
                "(BILLING_UPLOAD_MAX_BYTES). Split the export by month, or import it with `manage.py import_billing`."
            )
        return upload


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BillingImport)
class BillingImportAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "billing_account_id", "imported_at", "period_start", "period_end", "rows_kept")
    change_list_template = "admin/billing/billingimport_changelist.html"

    def get_urls(self):
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="billing_billingimport_upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request):
        form = FocusUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                imported = billing_import(stream=upload.file, file_name=upload.name)
            except FocusImportError as exc:
                form.add_error("file", str(exc))
            else:
                refresh_dirty_days_later()
                messages.success(
                    request, f"{imported.file_name}: kept {imported.rows_kept} of {imported.rows_read} rows."
                )
                return redirect("admin:billing_billingimport_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "title": "Upload a FOCUS file"}
        return render(request, "admin/billing/focus_upload.html", context)


@admin.register(BillingLine)
class BillingLineAdmin(ReadOnlyAdmin):
    list_display = ("day", "provider", "source", "scope", "description", "billed_cost", "is_partial")
    list_filter = ("provider", "source", "is_partial")
    date_hierarchy = "day"


@admin.register(ProviderReport)
class ProviderReportAdmin(ReadOnlyAdmin):
    list_display = ("account", "endpoint", "start", "end", "fetched_at")


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = (
        "day",
        "provider",
        "basis",
        "team",
        "scopes",
        "billed",
        "recorded",
        "remainder",
        "over_recorded",
        "not_billed",
        "cause",
    )
    list_filter = ("provider",)
    date_hierarchy = "day"


@admin.register(ReconciliationSettings)
class ReconciliationSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "threshold_percent")

    def has_add_permission(self, request):
        return not ReconciliationSettings.objects.exists()
