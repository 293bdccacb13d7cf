"""Reads of usage events."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .keys import ApiKeyInfo
from .models import UsageEvent


def events_visible(request) -> QuerySet[UsageEvent]:
    """Events the caller may read: a key sees its team's (sent by the team's keys or attributed
    to the team); staff and finance see all. Permissions have already refused everyone else."""
    events = UsageEvent.objects.select_related("api_key", "team", "product", "environment", "price")
    if isinstance(request.auth, ApiKeyInfo):
        team_id = request.auth.team_id
        return events.filter(Q(api_key__team_id=team_id) | Q(team_id=team_id))
    return events
