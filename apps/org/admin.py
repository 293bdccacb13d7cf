"""Admin for the registry."""

from django.contrib import admin

from .models import CustomerAccount, Environment, Product, TagAlias, TagPolicy, Team, TeamMembership


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ("user",)


class ProductInline(admin.TabularInline):
    model = Product
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "business_unit", "is_shared")
    list_filter = ("is_shared", "business_unit")
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (ProductInline, MembershipInline)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "team")
    list_filter = ("team",)
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "is_production")


@admin.register(CustomerAccount)
class CustomerAccountAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "tier", "monthly_revenue")
    list_filter = ("tier",)
    search_fields = ("external_id", "name")


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role")
    list_filter = ("role", "team")
    autocomplete_fields = ("user",)


@admin.register(TagAlias)
class TagAliasAdmin(admin.ModelAdmin):
    list_display = ("dimension", "alias", "target")
    list_filter = ("dimension",)
    search_fields = ("alias", "target")


@admin.register(TagPolicy)
class TagPolicyAdmin(admin.ModelAdmin):
    list_display = ("environment", "required_tags")
