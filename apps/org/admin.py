"""Admin for the registry: saving or deleting a team, product, environment or tag alias
re-attributes the open months' events (apps.closing.changes.registry_change). Memberships and the
directory's group mappings change who sees what, not attribution."""

from django.contrib import admin

from apps.closing.changes import registry_change

from .models import (
    CustomerAccount,
    Environment,
    GroupMapping,
    Person,
    Product,
    TagAlias,
    TagPolicy,
    Team,
    TeamMembership,
)


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("source",)


class GroupMappingTeamInline(admin.TabularInline):
    model = GroupMapping
    extra = 0
    fields = ("group", "role")
    verbose_name = "directory group"
    verbose_name_plural = "directory groups (people in them are this team's members or leads at their next sign-in)"

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":  # finance and staff are not a team's roles
            kwargs["choices"] = [(role.value, role.label) for role in GroupMapping.TEAM_ROLES]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


class ProductInline(admin.TabularInline):
    model = Product
    extra = 0


class RegistryAdmin(admin.ModelAdmin):
    """A registry row's save or delete (inlines included) changes how sent tags resolve."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        registry_change(reason=f"{self.model._meta.verbose_name} {form.instance} saved by {request.user}")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        registry_change(reason=f"{self.model._meta.verbose_name} {obj} deleted by {request.user}")

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        registry_change(reason=f"{self.model._meta.verbose_name_plural} deleted by {request.user}")


@admin.register(Team)
class TeamAdmin(RegistryAdmin):
    list_display = ("slug", "name", "business_unit", "is_shared")
    list_filter = ("is_shared", "business_unit")
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (ProductInline, MembershipInline, GroupMappingTeamInline)


@admin.register(Product)
class ProductAdmin(RegistryAdmin):
    list_display = ("slug", "name", "team")
    list_filter = ("team",)
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Environment)
class EnvironmentAdmin(RegistryAdmin):
    list_display = ("slug", "name", "is_production")


@admin.register(CustomerAccount)
class CustomerAccountAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "tier", "monthly_revenue")
    list_filter = ("tier",)
    search_fields = ("external_id", "name")


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "source")
    list_filter = ("role", "source", "team")
    search_fields = ("user__username", "user__email", "team__slug")
    autocomplete_fields = ("user",)
    readonly_fields = ("source",)


@admin.register(GroupMapping)
class GroupMappingAdmin(admin.ModelAdmin):
    """Who is in which team, as the company's directory says; applied at each person's next sign-in."""

    list_display = ("group", "role", "team")
    list_filter = ("role", "team")
    search_fields = ("group", "team__slug", "team__name")
    autocomplete_fields = ("team",)


@admin.register(TagAlias)
class TagAliasAdmin(RegistryAdmin):
    list_display = ("dimension", "alias", "target")
    list_filter = ("dimension",)
    search_fields = ("alias", "target")


@admin.register(TagPolicy)
class TagPolicyAdmin(admin.ModelAdmin):
    list_display = ("environment", "required_tags")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """Who events name as `person`, and their team when their login does not say it."""

    list_display = ("identifier", "display_name", "team")
    list_filter = ("team",)
    search_fields = ("identifier", "display_name")
