"""Reads of the registry: who may see what."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Team, TeamMembership

FINANCE_GROUP = "finance"


def user_sees_all_teams(user) -> bool:
    """Staff and the finance group see the whole organisation."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or user.groups.filter(name=FINANCE_GROUP).exists()


def teams_visible_to(user) -> QuerySet[Team]:
    if user_sees_all_teams(user):
        return Team.objects.all()
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).distinct()


def user_can_view_team(user, team: Team) -> bool:
    if user_sees_all_teams(user):
        return True
    return user.is_authenticated and team.memberships.filter(user=user).exists()


def user_leads_team(user, team: Team) -> bool:
    return user.is_authenticated and team.memberships.filter(user=user, role=TeamMembership.Role.LEAD).exists()


def user_may_create_api_key(user, team: Team) -> bool:
    """A team's API keys are created by its leads, or by a superuser for any team: the admin is open to
    every staff account, so being staff alone cannot be the test (docs/sso.md)."""
    return user.is_active and (user.is_superuser or user_leads_team(user, team))
