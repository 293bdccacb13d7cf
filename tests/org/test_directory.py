"""Directory groups to teams and roles: what the mappings grant, and how memberships follow them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.org.directory import directory_grants, directory_memberships_sync
from apps.org.models import GroupMapping, TeamMembership
from tests.factories import TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LEAD, MEMBER = TeamMembership.Role.LEAD, TeamMembership.Role.MEMBER


@pytest.fixture
def mappings(team, other_team):
    GroupMapping.objects.create(group="search-leads", role=GroupMapping.Role.LEAD, team=team)
    GroupMapping.objects.create(group="search-devs", role=GroupMapping.Role.MEMBER, team=team)
    GroupMapping.objects.create(group="billing-devs", role=GroupMapping.Role.MEMBER, team=other_team)
    GroupMapping.objects.create(group="finance", role=GroupMapping.Role.FINANCE)
    GroupMapping.objects.create(group="platform", role=GroupMapping.Role.STAFF)


def test_the_higher_role_wins_when_two_groups_name_one_team(mappings, team):
    for groups in (["search-devs", "search-leads"], ["search-leads", "search-devs"]):
        assert directory_grants(groups=groups).teams == {team.pk: LEAD}


def test_groups_match_exactly_as_the_provider_sends_them(mappings):
    grants = directory_grants(groups=["Search-Leads", "search-leads ", "/search-leads"])
    assert not grants.anything


def test_finance_and_staff_are_granted_apart_from_teams(mappings, other_team):
    grants = directory_grants(groups=["finance", "platform", "billing-devs"])
    assert (grants.teams, grants.finance, grants.staff) == ({other_team.pk: MEMBER}, True, True)


def _rows(user) -> set[tuple[str, str, str]]:
    return {(m.team.slug, m.role, m.source) for m in TeamMembership.objects.filter(user=user)}


def test_sync_adds_changes_and_removes_only_directory_rows(team, other_team):
    user = UserFactory()
    directory_memberships_sync(user=user, teams={team.pk: MEMBER, other_team.pk: MEMBER})
    assert _rows(user) == {("search", "member", "directory"), ("billing", "member", "directory")}

    changes = directory_memberships_sync(user=user, teams={team.pk: LEAD})

    assert _rows(user) == {("search", "lead", "directory")}
    assert (changes.added, changes.changed, changes.removed) == ([], [team.pk], [other_team.pk])


def test_sync_never_touches_a_membership_set_by_hand(team, other_team):
    user = UserFactory()
    TeamMembershipFactory(user=user, team=team, role=MEMBER)
    TeamMembershipFactory(user=user, team=other_team, role=LEAD)

    changes = directory_memberships_sync(user=user, teams={team.pk: LEAD})
    assert changes.kept_manual == [team.pk]
    directory_memberships_sync(user=user, teams={})

    assert _rows(user) == {("search", "member", "manual"), ("billing", "lead", "manual")}


def test_a_team_role_needs_a_team(team):
    with pytest.raises(ValidationError) as refused:
        GroupMapping(group="search-leads", role=GroupMapping.Role.LEAD).full_clean()
    assert refused.value.message_dict["team"] == ["Choose the team this group's people are members or leads of."]


def test_finance_and_staff_take_no_team(team):
    with pytest.raises(ValidationError) as refused:
        GroupMapping(group="finance", role=GroupMapping.Role.FINANCE, team=team).full_clean()
    assert refused.value.message_dict["team"] == ["Leave the team blank: finance is not a team role."]


def test_a_mapping_is_not_entered_twice(team):
    GroupMapping.objects.create(group="finance", role=GroupMapping.Role.FINANCE)
    GroupMapping.objects.create(group="search-leads", role=GroupMapping.Role.LEAD, team=team)
    for duplicate in (
        GroupMapping(group="finance", role=GroupMapping.Role.FINANCE),
        GroupMapping(group="search-leads", role=GroupMapping.Role.LEAD, team=team),
    ):
        with pytest.raises(ValidationError):
            duplicate.full_clean()


def test_the_admin_maps_a_group_with_a_clear_error_for_a_missing_team(admin_client, team):
    response = admin_client.post("/admin/org/groupmapping/add/", {"group": "search-leads", "role": "lead"})
    assert "Choose the team this group&#x27;s people are members or leads of." in response.content.decode()

    response = admin_client.post(
        "/admin/org/groupmapping/add/", {"group": " search-leads ", "role": "lead", "team": team.pk}
    )
    assert response.status_code == 302, response.content.decode()
    assert GroupMapping.objects.get().group == "search-leads"


def test_a_teams_admin_page_lists_its_directory_groups_with_team_roles_only(admin_client, team):
    GroupMapping.objects.create(group="search-leads", role=GroupMapping.Role.LEAD, team=team)
    page = admin_client.get(f"/admin/org/team/{team.pk}/change/").content.decode()
    assert 'value="search-leads"' in page
    assert 'value="finance"' not in page and 'value="staff"' not in page


def test_the_membership_admin_shows_where_a_membership_came_from(admin_client, lead):
    TeamMembership.objects.filter(user=lead).update(source=TeamMembership.Source.DIRECTORY)
    page = admin_client.get("/admin/org/teammembership/").content.decode()
    assert "From the directory&#x27;s groups" in page
