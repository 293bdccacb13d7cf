"""Who sees which teams: staff and finance everything, members their own teams, others nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.org.selectors import teams_visible_to, user_sees_all_teams

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("user", ["admin_user", "finance"])
def test_staff_and_finance_see_every_team(request, team, other_team, user):
    assert set(teams_visible_to(request.getfixturevalue(user))) == {team, other_team}


@pytest.mark.parametrize("user", ["lead", "member"])
def test_members_see_only_their_own_teams(request, team, other_team, user):
    assert list(teams_visible_to(request.getfixturevalue(user))) == [team]


def test_an_outsider_sees_no_team(outsider, team):
    assert list(teams_visible_to(outsider)) == []


def test_an_anonymous_user_sees_no_team(team):
    assert list(teams_visible_to(AnonymousUser())) == []


def test_a_member_does_not_see_the_whole_organisation(member):
    assert not user_sees_all_teams(member)
