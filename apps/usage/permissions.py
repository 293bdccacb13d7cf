"""Who may call the API: services by API key (their own team), people by their teams or role."""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from apps.org.selectors import teams_visible_to, user_sees_all_teams

from .keys import ApiKeyInfo


class IsApiKey(BasePermission):
    message = "Send events with an API key: 'Authorization: Bearer <key>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKeyInfo)


class IsApiKeyOrStaff(BasePermission):
    message = "Only an API key (for its own team), staff or finance can read events."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKeyInfo) or user_sees_all_teams(request.user)


class IsKeyOrSignedIn(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKeyInfo) or request.user.is_authenticated


def visible_team_ids(request) -> list[int] | None:
    """Teams whose numbers the caller may read: None for the whole organisation (staff,
    finance); a key sees its own team, a person the teams they belong to."""
    if isinstance(request.auth, ApiKeyInfo):
        return [request.auth.team_id]
    if user_sees_all_teams(request.user):
        return None
    team_ids = list(teams_visible_to(request.user).values_list("id", flat=True))
    if not team_ids:
        raise PermissionDenied("You are not in any team; ask an admin for access.")
    return team_ids
