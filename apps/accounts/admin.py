"""Admin: each person's link to the provider and the groups it last sent, to map them (GroupMapping)."""

from django.contrib import admin

from .models import DirectoryIdentity


@admin.register(DirectoryIdentity)
class DirectoryIdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "subject", "sent_groups", "granted_staff", "granted_finance", "signed_in_at")
    search_fields = ("user__username", "user__email", "subject")
    readonly_fields = [f.name for f in DirectoryIdentity._meta.fields]

    @admin.display(description="Groups at the last sign-in")
    def sent_groups(self, obj) -> str:
        return ", ".join(obj.groups) or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
