"""People events name (`person`): who they are and which team they belong to."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower

from .models import Person, Team, TeamMembership


@dataclass(frozen=True)
class PersonInfo:
    identifier: str
    name: str  # the display name, else the login's full name, else the identifier
    team_id: int | None


def people_info(identifiers: set[str]) -> dict[str, PersonInfo]:
    """Each identifier's display name and team: the admin mapping first, then the login whose email
    it is and that login's team (a team it leads first). Emails compare case-insensitively."""
    lowered = {i.lower() for i in identifiers}
    mapped = {p.low: p for p in Person.objects.annotate(low=Lower("identifier")).filter(low__in=lowered)}
    users = {u.low: u for u in get_user_model().objects.annotate(low=Lower("email")).filter(low__in=lowered)}
    memberships: dict[int, int] = {}
    for m in TeamMembership.objects.filter(user__in=users.values()).order_by("role", "team__slug"):
        memberships.setdefault(m.user_id, m.team_id)  # "lead" sorts before "member"
    found = {}
    for identifier in identifiers:
        person, user = mapped.get(identifier.lower()), users.get(identifier.lower())
        team_id = person.team_id if person and person.team_id else (memberships.get(user.pk) if user else None)
        name = (person.display_name if person else "") or (user.get_full_name() if user else "") or identifier
        found[identifier] = PersonInfo(identifier=identifier, name=name, team_id=team_id)
    return found


def team_people(team: Team) -> set[str]:
    """Identifiers mapped to the team, by the admin mapping or through a login in the team."""
    mapped = set(Person.objects.filter(team=team).values_list("identifier", flat=True))
    others = Person.objects.exclude(team=team).exclude(team=None).values_list("identifier", flat=True)
    elsewhere = {identifier.lower() for identifier in others}
    logins = {
        email
        for email in get_user_model()
        .objects.filter(team_memberships__team=team)
        .exclude(email="")
        .values_list("email", flat=True)
        if email.lower() not in elsewhere
    }
    return mapped | logins


@transaction.atomic
def person_map(*, identifier: str, team: Team | None, display_name: str | None = None) -> Person:
    """Map a person to a team (None: back to their login's team), keeping or setting their name."""
    identifier = identifier.strip()
    person = Person.objects.filter(identifier__iexact=identifier).first() or Person(identifier=identifier)
    person.team = team
    if display_name is not None:
        person.display_name = display_name.strip()
    person.full_clean()
    person.save()
    return person
