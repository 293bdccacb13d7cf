"""Who may call the events API: services by API key; people when they see the whole organisation."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from apps.org.selectors import user_sees_all_teams

from .keys import ApiKeyInfo


class IsApiKey(BasePermission):
    message = "Send events with an API key: 'Authorization: Bearer <key>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKeyInfo)


class IsApiKeyOrStaff(BasePermission):
    message = "Only an API key (for its own team), staff or finance can read events."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKeyInfo) or user_sees_all_teams(request.user)
