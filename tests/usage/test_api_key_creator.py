"""A key's admin page says who created it; a key is created for a team only by one of its leads or a
superuser, in the admin and in create_api_key --created-by."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from apps.org.models import TeamMembership
from apps.usage.models import ApiKey
from tests.factories import ApiKeyFactory, TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_admin(team):
    """A staff account allowed to manage API keys in the admin, leading Search only."""
    user = UserFactory(username="key-admin", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_apikey", "change_apikey", "view_apikey"]))
    TeamMembershipFactory(user=user, team=team, role=TeamMembership.Role.LEAD)
    return user


def test_the_admin_records_and_shows_who_created_a_key(admin_client, admin_user, team):
    response = admin_client.post("/admin/usage/apikey/add/", {"name": "batch", "team": team.pk})
    assert response.status_code == 302, response.content.decode()
    key = ApiKey.objects.get(name="batch")
    assert key.created_by == admin_user

    page = admin_client.get(f"/admin/usage/apikey/{key.pk}/change/").content.decode()
    assert "<label>Created by:</label>" in page
    assert f'<div class="readonly"><a href="/admin/auth/user/{admin_user.pk}/change/">admin</a></div>' in page
    listing = admin_client.get("/admin/usage/apikey/").content.decode()
    assert '<td class="field-created_by nowrap">admin</td>' in listing


def test_a_lead_creates_a_key_for_their_team(client, key_admin, team):
    client.force_login(key_admin)
    response = client.post("/admin/usage/apikey/add/", {"name": "search-batch", "team": team.pk})
    assert response.status_code == 302, response.content.decode()
    assert ApiKey.objects.get(name="search-batch").created_by == key_admin


def test_a_key_for_a_team_one_does_not_lead_is_refused_with_a_clear_error(client, key_admin, other_team):
    client.force_login(key_admin)
    response = client.post("/admin/usage/apikey/add/", {"name": "billing-batch", "team": other_team.pk})
    assert response.status_code == 200
    assert (
        "Only a lead of Billing (or a superuser) can create its API keys, and key-admin is not one of its leads."
        in (response.content.decode())
    )
    assert not ApiKey.objects.exists()


def test_a_member_is_not_a_lead(client, key_admin, other_team):
    TeamMembershipFactory(user=key_admin, team=other_team, role=TeamMembership.Role.MEMBER)
    client.force_login(key_admin)
    response = client.post("/admin/usage/apikey/add/", {"name": "billing-batch", "team": other_team.pk})
    assert "Only a lead of Billing" in response.content.decode()


def test_moving_a_key_to_a_team_one_does_not_lead_is_refused(client, key_admin, team, other_team):
    key = ApiKeyFactory(team=team, name="search-batch")
    client.force_login(key_admin)
    response = client.post(f"/admin/usage/apikey/{key.pk}/change/", {"name": key.name, "team": other_team.pk})
    assert "Only a lead of Billing" in response.content.decode()
    key.refresh_from_db()
    assert key.team == team


def test_editing_a_key_of_a_team_one_does_not_lead_keeps_its_team(client, key_admin, other_team):
    """Renaming or revoking is not creating: the rule is for the team a key is created for or moved to."""
    key = ApiKeyFactory(team=other_team, name="billing-batch")
    client.force_login(key_admin)
    response = client.post(f"/admin/usage/apikey/{key.pk}/change/", {"name": "billing-nightly", "team": other_team.pk})
    assert response.status_code == 302, response.content.decode()


def create_api_key(*args: str) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip()


def test_the_command_records_the_lead_it_creates_the_key_for(lead, team):
    create_api_key("--team", "search", "--name", "search-service", "--created-by", "lead")
    assert ApiKey.objects.get().created_by == lead


def test_the_command_refuses_someone_who_does_not_lead_the_team(member, team):
    with pytest.raises(CommandError, match="team: Only a lead of Search \\(or a superuser\\) can create its API keys"):
        create_api_key("--team", "search", "--name", "search-service", "--created-by", "member")
    assert not ApiKey.objects.exists()


def test_the_command_lets_a_superuser_create_a_key_for_any_team(admin_user, other_team):
    create_api_key("--team", "billing", "--name", "billing-service", "--created-by", "admin")
    assert ApiKey.objects.get().created_by == admin_user


def test_the_command_names_an_unknown_user(team):
    with pytest.raises(CommandError, match="No user with username 'nobody'"):
        create_api_key("--team", "search", "--name", "search-service", "--created-by", "nobody")


def test_without_created_by_the_command_creates_the_key_as_before(team):
    create_api_key("--team", "search", "--name", "search-service")
    assert ApiKey.objects.get().created_by is None
