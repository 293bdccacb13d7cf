"""The registry: who can own spend (teams, products), where it runs, and for which customer."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .tags import EVENT_TAGS, normalize_tag


def validate_tag_slug(value: str) -> None:
    """Events' tags are matched normalized (lowercased), so a slug that is not would match none."""
    if value != normalize_tag(value):
        raise ValidationError(f"Tags are matched lowercased: use {normalize_tag(value)!r}.")


class Team(models.Model):
    slug = models.SlugField(max_length=64, unique=True, validators=[validate_tag_slug])
    name = models.CharField(max_length=200)
    business_unit = models.CharField(max_length=200, blank=True)
    is_shared = models.BooleanField(
        default=False, help_text="A platform team whose costs are shared out onto the teams that use it."
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    slug = models.SlugField(max_length=64, unique=True, validators=[validate_tag_slug])
    name = models.CharField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="products")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    slug = models.SlugField(max_length=64, unique=True, validators=[validate_tag_slug])
    name = models.CharField(max_length=100)
    is_production = models.BooleanField(default=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class CustomerAccount(models.Model):
    external_id = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=64, blank=True)
    monthly_revenue = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="USD per month, for margins."
    )

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        MEMBER = "member", "Member"

    class Source(models.TextChoices):
        MANUAL = "manual", "Set by hand"
        DIRECTORY = "directory", "From the directory's groups"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Sign-in adds, changes and removes only the directory's rows (apps.org.directory); a row set by
    # hand is never touched by it.
    source = models.CharField(
        max_length=16,
        choices=Source.choices,
        default=Source.MANUAL,
        editable=False,
        help_text="Memberships from the directory follow its groups at every sign-in; those set by hand stay.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="unique_team_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class TagAlias(models.Model):
    """Maps a tag value as services send it onto the registered value (`Search-Team` → `search`)."""

    class Dimension(models.TextChoices):
        TEAM = "team", "Team"
        PRODUCT = "product", "Product"
        ENVIRONMENT = "environment", "Environment"
        FEATURE = "feature", "Feature"
        AGENT = "agent", "Agent"
        CUSTOMER = "customer", "Customer"
        PROVIDER = "provider", "Provider"

    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    alias = models.CharField(max_length=128, help_text="Matched after trimming and lowercasing.")
    target = models.CharField(max_length=128, help_text="The registered slug the alias stands for.")

    class Meta:
        ordering = ["dimension", "alias"]
        verbose_name_plural = "tag aliases"
        constraints = [models.UniqueConstraint(fields=["dimension", "alias"], name="unique_tag_alias")]

    def __str__(self) -> str:
        return f"{self.dimension}: {self.alias} → {self.target}"

    def save(self, *args, **kwargs):
        self.alias = normalize_tag(self.alias)
        if self.dimension != self.Dimension.CUSTOMER:
            self.target = normalize_tag(self.target)
        super().save(*args, **kwargs)


class TagPolicy(models.Model):
    """Which tags an event must carry in an environment; events missing them are flagged, not refused."""

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="tag_policy")
    required_tags = models.JSONField(default=list, help_text='e.g. ["team", "product", "environment"]')

    class Meta:
        verbose_name_plural = "tag policies"

    def __str__(self) -> str:
        return f"{self.environment}: {', '.join(self.required_tags)}"

    def clean(self) -> None:
        if not isinstance(self.required_tags, list) or not all(isinstance(t, str) for t in self.required_tags):
            raise ValidationError({"required_tags": "Give a list of tag names."})
        unknown = sorted(set(self.required_tags) - set(EVENT_TAGS))
        if unknown:
            raise ValidationError(
                {"required_tags": f"Unknown tags: {', '.join(unknown)}. Choose from {', '.join(EVENT_TAGS)}."}
            )


class GroupMapping(models.Model):
    """A group of the company's identity provider, and what being in it gives here (docs/sso.md)."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member of the team"
        LEAD = "lead", "Lead of the team"
        FINANCE = "finance", "Finance (sees every team)"
        STAFF = "staff", "Staff (sees every team, may open the admin)"

    TEAM_ROLES = (Role.MEMBER, Role.LEAD)

    group = models.CharField(
        max_length=255,
        help_text="Exactly as the provider sends it in the groups claim: a name, a path (Keycloak) or an "
        "object id (Microsoft Entra ID). A person's last sign-in shows the groups their provider sent.",
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="group_mappings",
        help_text="For member and lead; blank for finance and staff.",
    )

    class Meta:
        ordering = ["group", "role"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(role__in=["member", "lead"], team__isnull=False))
                | (models.Q(role__in=["finance", "staff"], team__isnull=True)),
                name="group_mapping_team_iff_team_role",
            ),
            models.UniqueConstraint(
                fields=["group", "role", "team"], condition=models.Q(team__isnull=False), name="unique_group_team_role"
            ),
            models.UniqueConstraint(
                fields=["group", "role"], condition=models.Q(team__isnull=True), name="unique_group_role"
            ),
        ]

    def __str__(self) -> str:
        if self.role in self.TEAM_ROLES:
            return f"{self.group} → {self.get_role_display().lower()} {self.team}"
        return f"{self.group} → {self.role}"

    def clean(self) -> None:
        self.group = self.group.strip()
        if self.role in self.TEAM_ROLES and self.team_id is None:
            raise ValidationError({"team": "Choose the team this group's people are members or leads of."})
        if self.role not in self.TEAM_ROLES and self.team_id is not None:
            raise ValidationError({"team": f"Leave the team blank: {self.role} is not a team role."})


class Person(models.Model):
    """Someone events name as `person` (a developer's coding agent, a seat user), and their team.

    A person maps to a team here (admin, or `manage.py map_person`), else through their login: the
    user whose email is the identifier, and that user's team (apps.org.people.person_teams).
    """

    identifier = models.CharField(
        max_length=255, unique=True, help_text="As events name the person: an email or the provider's user id."
    )
    display_name = models.CharField(max_length=255, blank=True)
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="people",
        help_text="Blank: the team of the login with this email.",
    )

    class Meta:
        ordering = ["identifier"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.display_name or self.identifier

    def save(self, *args, **kwargs):
        self.identifier = self.identifier.strip()
        super().save(*args, **kwargs)
