"""Signing in through a real OpenID provider (oidc-provider on loopback): teams and roles follow the
directory's groups at every sign-in."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from apps.accounts.models import DirectoryIdentity
from apps.org.models import GroupMapping, TeamMembership
from apps.org.selectors import FINANCE_GROUP, teams_visible_to, user_sees_all_teams
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def search(db):
    team = TeamFactory(slug="search", name="Search")
    GroupMapping.objects.create(group="search-leads", role=GroupMapping.Role.LEAD, team=team)
    GroupMapping.objects.create(group="search-members", role=GroupMapping.Role.MEMBER, team=team)
    return team


def _memberships(username: str) -> set[tuple[str, str, str]]:
    return {
        (m.team.slug, m.role, m.source)
        for m in TeamMembership.objects.filter(user__username=username).select_related("team")
    }


def test_a_lead_signs_in_and_sees_their_team(client, identity_provider, sign_in, search):
    identity_provider.person("lena", groups=["search-leads", "all-staff"])

    response = sign_in("lena")

    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == "/teams/search/"
    assert client.get("/teams/search/").status_code == 200
    assert _memberships("lena") == {("search", "lead", "directory")}
    identity = DirectoryIdentity.objects.get(user__username="lena")
    assert (identity.issuer, identity.subject, identity.groups) == (
        identity_provider.issuer,
        "sub-lena",
        ["all-staff", "search-leads"],
    )


def test_the_new_user_has_no_local_password(identity_provider, sign_in, search):
    identity_provider.person("lena", groups=["search-leads"], given_name="Lena", family_name="Berg")
    sign_in("lena")
    user = DirectoryIdentity.objects.get(subject="sub-lena").user
    assert (user.username, user.email, user.first_name, user.last_name) == ("lena", "lena@corp.example", "Lena", "Berg")
    assert not user.has_usable_password()


def test_a_member_whose_group_is_removed_loses_the_team_at_the_next_sign_in(client, identity_provider, sign_in, search):
    identity_provider.person("max", groups=["search-members"])
    sign_in("max")
    assert _memberships("max") == {("search", "member", "directory")}
    assert client.get("/teams/search/").status_code == 200
    client.post("/accounts/logout/")

    identity_provider.person("max", groups=["all-staff"])
    response = sign_in("max")

    assert response["Location"] == "/accounts/no-team/"
    assert _memberships("max") == set()
    assert client.get("/teams/search/").status_code == 403


def test_a_member_promoted_in_the_directory_becomes_lead(identity_provider, sign_in, search):
    identity_provider.person("max", groups=["search-members"])
    sign_in("max")
    identity_provider.person("max", groups=["search-members", "search-leads"])
    sign_in("max")
    assert _memberships("max") == {("search", "lead", "directory")}


def test_a_person_with_no_mapped_group_lands_on_a_page_that_says_so(client, identity_provider, sign_in, search):
    identity_provider.person("nina", groups=["marketing", "all-staff"])

    response = sign_in("nina", next_url="/teams/search/")

    assert response["Location"] == "/accounts/no-team/"
    page = client.get("/accounts/no-team/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "none of your groups in the company directory is mapped to a team" in text
    assert "<code>all-staff</code>" in text and "<code>marketing</code>" in text
    assert list(teams_visible_to(page.wsgi_request.user)) == []
    assert 'href="/teams/' not in text  # no team in the navigation either


def test_a_person_whose_provider_sends_no_groups_is_told_so(client, identity_provider, sign_in, search):
    identity_provider.person("nina", groups=[])
    sign_in("nina")
    assert "sent no groups at all" in client.get("/accounts/no-team/").content.decode()


def test_the_requested_page_is_where_a_person_with_a_team_lands(identity_provider, sign_in, search):
    identity_provider.person("lena", groups=["search-leads"])
    assert sign_in("lena", next_url="/teams/search/?month=2026-11")["Location"] == "/teams/search/?month=2026-11"


def test_memberships_set_by_hand_stay_whatever_the_groups_say(identity_provider, sign_in, search):
    billing = TeamFactory(slug="billing", name="Billing")
    user = UserFactory(username="max", email="max@corp.example")
    TeamMembershipFactory(user=user, team=billing, role=TeamMembership.Role.MEMBER)
    TeamMembershipFactory(user=user, team=search, role=TeamMembership.Role.MEMBER)
    identity_provider.person("max", groups=["search-leads"])

    sign_in("max")  # linked to the existing user by the verified email
    assert _memberships("max") == {("billing", "member", "manual"), ("search", "member", "manual")}

    identity_provider.person("max", groups=[])
    sign_in("max")
    assert _memberships("max") == {("billing", "member", "manual"), ("search", "member", "manual")}


def test_finance_and_staff_follow_the_groups_but_hand_set_ones_stay(identity_provider, sign_in, search):
    GroupMapping.objects.create(group="finance-team", role=GroupMapping.Role.FINANCE)
    GroupMapping.objects.create(group="platform-admins", role=GroupMapping.Role.STAFF)
    finance = Group.objects.get_or_create(name=FINANCE_GROUP)[0]
    identity_provider.person("fay", groups=["finance-team"])
    identity_provider.person("sam", groups=["platform-admins"])
    identity_provider.person("hal", groups=["finance-team", "platform-admins"])
    hal = UserFactory(username="hal", email="hal@corp.example", is_staff=True)
    hal.groups.add(finance)

    for person in ("fay", "sam", "hal"):
        sign_in(person)
    fay, sam = (DirectoryIdentity.objects.get(subject=f"sub-{p}").user for p in ("fay", "sam"))
    assert user_sees_all_teams(fay) and not fay.is_staff
    assert sam.is_staff

    for person in ("fay", "sam", "hal"):
        identity_provider.person(person, groups=[])
        sign_in(person)
    fay, sam, hal = (DirectoryIdentity.objects.get(subject=f"sub-{p}").user for p in ("fay", "sam", "hal"))
    assert not user_sees_all_teams(fay)
    assert not sam.is_staff
    assert hal.is_staff and hal.groups.filter(name=FINANCE_GROUP).exists()  # set by hand before any sign-in


def test_groups_sent_in_the_id_token_count_as_well(identity_provider, sign_in, search):
    identity_provider.person("ida", groups=[])
    identity_provider.next_id_token(mode="resign", groups=["search-leads"])
    sign_in("ida")
    assert _memberships("ida") == {("search", "lead", "directory")}


def test_a_first_sign_in_links_to_an_existing_user_only_by_a_verified_email(identity_provider, sign_in, search):
    existing = UserFactory(username="old-lena", email="lena@corp.example")
    other = UserFactory(username="old-otto", email="otto@corp.example")
    identity_provider.person("lena", groups=["search-leads"])
    identity_provider.person("otto", groups=["search-leads"], email_verified=False)

    sign_in("lena")
    sign_in("otto")

    assert DirectoryIdentity.objects.get(subject="sub-lena").user == existing
    otto = DirectoryIdentity.objects.get(subject="sub-otto").user
    assert otto != other
    assert otto.username == "otto"


def test_a_username_already_taken_gets_a_suffix(identity_provider, sign_in, search):
    UserFactory(username="lena", email="someone-else@corp.example")
    identity_provider.person("lena", groups=["search-leads"])
    sign_in("lena")
    assert DirectoryIdentity.objects.get(subject="sub-lena").user.username == "lena-2"


def test_a_later_sign_in_finds_the_person_by_subject_even_after_a_rename(identity_provider, sign_in, search):
    identity_provider.person("lena", groups=["search-leads"])
    sign_in("lena")
    identity_provider.person("lena", groups=["search-leads"], email="lena.berg@corp.example")
    sign_in("lena")
    identity = DirectoryIdentity.objects.get(subject="sub-lena")
    assert (identity.user.username, identity.user.email) == ("lena", "lena.berg@corp.example")
    assert DirectoryIdentity.objects.count() == 1


def test_a_directory_session_ends_after_oidc_session_hours(client, settings, identity_provider, sign_in, search):
    settings.OIDC_SESSION_HOURS = 8
    identity_provider.person("lena", groups=["search-leads"])
    sign_in("lena")
    assert client.session.get_expiry_age() == 8 * 3600


def test_a_local_user_without_a_team_is_told_to_ask_an_admin(client, db):
    client.force_login(UserFactory(username="local"))
    page = client.get("/accounts/no-team/").content.decode()
    assert "you are in no team yet: ask an admin to add you" in page
    assert "company directory" not in page
