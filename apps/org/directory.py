"""What a person's directory groups give them here: team memberships, finance and staff (GroupMapping)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from .models import GroupMapping, TeamMembership

# A person in a team's member group and in its lead group leads it.
ROLE_RANK = {TeamMembership.Role.MEMBER: 0, TeamMembership.Role.LEAD: 1}


@dataclass(frozen=True)
class DirectoryGrants:
    """What the mapped groups give: {team id: role}, and whether finance and staff."""

    teams: dict[int, str] = field(default_factory=dict)
    finance: bool = False
    staff: bool = False

    @property
    def anything(self) -> bool:
        return bool(self.teams) or self.finance or self.staff


def directory_grants(*, groups: Iterable[str]) -> DirectoryGrants:
    """The grants of the mappings naming any of these groups (matched exactly, as the provider sends them)."""
    teams: dict[int, str] = {}
    finance = staff = False
    for mapping in GroupMapping.objects.filter(group__in=set(groups)):
        if mapping.role == GroupMapping.Role.FINANCE:
            finance = True
        elif mapping.role == GroupMapping.Role.STAFF:
            staff = True
        elif ROLE_RANK[mapping.role] >= ROLE_RANK.get(teams.get(mapping.team_id), -1):
            teams[mapping.team_id] = mapping.role
    return DirectoryGrants(teams=teams, finance=finance, staff=staff)


@dataclass(frozen=True)
class MembershipChanges:
    added: list[int]
    changed: list[int]
    removed: list[int]
    kept_manual: list[int]


@transaction.atomic
def directory_memberships_sync(*, user, teams: dict[int, str]) -> MembershipChanges:
    """Make the user's directory memberships exactly `teams` ({team id: role}).

    Memberships set by hand are never changed or removed; where one exists for a team the directory
    also gives, the hand-set one stands (its role too).
    """
    rows = {m.team_id: m for m in TeamMembership.objects.select_for_update().filter(user=user)}
    added, changed, removed, kept_manual = [], [], [], []
    for team_id, membership in rows.items():
        if membership.source != TeamMembership.Source.DIRECTORY:
            if team_id in teams:
                kept_manual.append(team_id)
            continue
        if team_id not in teams:
            membership.delete()
            removed.append(team_id)
        elif membership.role != teams[team_id]:
            membership.role = teams[team_id]
            membership.save(update_fields=["role"])
            changed.append(team_id)
    new = [
        TeamMembership(user=user, team_id=team_id, role=role, source=TeamMembership.Source.DIRECTORY)
        for team_id, role in teams.items()
        if team_id not in rows
    ]
    TeamMembership.objects.bulk_create(new)
    added = [m.team_id for m in new]
    return MembershipChanges(added=added, changed=changed, removed=removed, kept_manual=kept_manual)
