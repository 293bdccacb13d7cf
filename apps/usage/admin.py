"""Admin for API keys (the secret is shown once, on creation) and, read-only, usage events and archived months."""

from django import forms
from django.contrib import admin, messages

from apps.org.selectors import user_may_create_api_key
from apps.org.tags import EVENT_TAGS, TAG_LENGTHS
from apps.pricing.admin_columns import money_column

from .models import ApiKey, ArchivedMonth, RerateRun, UsageEvent
from .services import api_keys_revoke

TAG_KINDS = {"pinned_tags": "pinned", "default_tags": "default"}


class _ApiKeyForm(forms.ModelForm):
    """Pinned and default tags as one text box per tag rather than JSON: blank leaves a tag unset."""

    class Meta:
        model = ApiKey
        fields = ("name", "team", "chargeable_teams", "expires_at", "revoked_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field, kind in TAG_KINDS.items():
            for tag, value in (getattr(self.instance, field) or {}).items():
                self.initial.setdefault(f"{kind}_{tag}", value)
        scopes = self.instance.provider_scopes or {}
        self.initial.setdefault("provider_scopes_text", "\n".join(f"{p}={s}" for p, s in sorted(scopes.items())))

    provider_scopes_text = forms.CharField(
        label="Provider scopes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One PROVIDER=SCOPE a line, e.g. anthropic=wrkspc_01…: the workspace or project the key's "
        "traffic to that provider bills to. Reconciliation compares the bill with events per scope.",
    )

    def clean_provider_scopes_text(self):
        scopes = {}
        for line in (self.cleaned_data.get("provider_scopes_text") or "").splitlines():
            if not line.strip():
                continue
            provider, sep, scope = line.partition("=")
            if not sep or not provider.strip() or not scope.strip():
                raise forms.ValidationError(f"Write PROVIDER=SCOPE, one a line; got {line.strip()!r}.")
            if provider.strip() in scopes:
                raise forms.ValidationError(f"One scope per provider: {provider.strip()!r} is given twice.")
            scopes[provider.strip()] = scope.strip()
        self.instance.provider_scopes = scopes
        return scopes

    def clean_team(self):
        """A key is created for, or moved to, a team only by one of its leads or a superuser."""
        team = self.cleaned_data.get("team")
        user = getattr(self, "user", None)
        moved = team is not None and team.pk != self.instance.team_id
        if user is not None and moved and not user_may_create_api_key(user, team):
            raise forms.ValidationError(
                f"Only a lead of {team} (or a superuser) can create its API keys, and {user} is not one of its leads."
            )
        return team

    def clean(self):
        cleaned = super().clean()
        for field, kind in TAG_KINDS.items():
            tags = {tag: (cleaned.get(f"{kind}_{tag}") or "").strip() for tag in EVENT_TAGS}
            setattr(self.instance, field, {tag: value for tag, value in tags.items() if value})
        return cleaned


# The admin only shows fields declared on the form class, so the per-tag fields are declared here.
ApiKeyForm = type(
    "ApiKeyForm",
    (_ApiKeyForm,),
    {
        f"{kind}_{tag}": forms.CharField(
            label=tag.replace("_", " ").capitalize(), required=False, max_length=TAG_LENGTHS[tag]
        )
        for kind in TAG_KINDS.values()
        for tag in EVENT_TAGS
    },
)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "team", "prefix", "pinned", "defaults", "created_at", "created_by", "revoked_at")
    list_filter = ("team",)
    filter_horizontal = ("chargeable_teams",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by")
    fieldsets = (
        (None, {"fields": ("name", "team", "prefix", "created_at", "created_by", "expires_at", "revoked_at")}),
        (
            "Teams it may charge",
            {
                "fields": ("chargeable_teams",),
                "description": "Without a pinned team, a key charges its own team and the teams listed here; "
                "a call or event naming any other team, or a product of another team, is refused.",
            },
        ),
        (
            "Provider scopes",
            {
                "fields": ("provider_scopes_text",),
                "description": "Where the provider bills this key's traffic: "
                "events without a scope of their own get it.",
            },
        ),
        ("Pinned tags", {"fields": [f"pinned_{tag}" for tag in EVENT_TAGS], "description": "Forced on every event."}),
        (
            "Default tags",
            {"fields": [f"default_{tag}" for tag in EVENT_TAGS], "description": "Used when an event leaves them out."},
        ),
    )
    actions = ("revoke",)

    @admin.display(description="Pinned tags")
    def pinned(self, obj) -> str:
        return ", ".join(f"{k}={v}" for k, v in obj.pinned_tags.items()) or "—"

    @admin.display(description="Default tags")
    def defaults(self, obj) -> str:
        return ", ".join(f"{k}={v}" for k, v in obj.default_tags.items()) or "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})  # for clean_team's rule

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            raw = obj.set_new_key()
            messages.warning(
                request,
                f"The API key for {obj.name} is {raw} — copy it now; it is not stored and cannot be shown again.",
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        self.message_user(request, f"Revoked {api_keys_revoke(keys=queryset)} key(s).")


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = (
        "event_id",
        "timestamp",
        "team",
        "team_tag",
        "product",
        "model",
        money_column("billed_cost", "Billed cost", places=6),
        "unpriced",
    )
    list_filter = ("unpriced", "provider", "team")
    search_fields = ("event_id", "trace_id", "customer")
    date_hierarchy = "timestamp"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# DirtyMark is bookkeeping between ingestion and the rollup tasks: not for the admin.


@admin.register(RerateRun)
class RerateRunAdmin(admin.ModelAdmin):
    """Shows that a price or discount change re-priced history, and how much changed."""

    list_display = ("created_at", "reason", "status", "events_checked", "events_changed", "days_marked_dirty")
    list_filter = ("status", "provider")
    readonly_fields = [f.name for f in RerateRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ArchivedMonth)
class ArchivedMonthAdmin(admin.ModelAdmin):
    """Months whose raw events are in Parquet files (manage.py archive_events / restore_events)."""

    list_display = ("month_label", "rows", "billed", "location", "sha256", "archived_at")

    @admin.display(description="Month", ordering="month")
    def month_label(self, obj: ArchivedMonth) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description="Billed cost")
    def billed(self, obj: ArchivedMonth) -> str:
        return f"{obj.billed_cost:f}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
