"""In headless Chromium, through the provider's own login form: a lead sees their team; a member whose
group is removed loses the team at their next sign-in, after signing out of both the site and the provider."""

from __future__ import annotations

import pytest

from apps.org.models import GroupMapping
from tests.factories import TeamFactory

from .identity_provider import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def search(transactional_db):
    team = TeamFactory(slug="search", name="Search")
    TeamFactory(slug="billing", name="Billing")
    GroupMapping.objects.create(group="search-leads", role=GroupMapping.Role.LEAD, team=team)
    GroupMapping.objects.create(group="search-members", role=GroupMapping.Role.MEMBER, team=team)
    return team


def _sign_in_at_the_provider(page, site: str, provider: str, username: str) -> None:
    page.goto(f"{site}/")
    page.wait_for_url(f"{site}/accounts/login/?next=/")
    page.click("text=Sign in with Test Directory")
    page.wait_for_url(f"{provider}/interaction/**")  # the provider's own login form
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_a_lead_signs_in_through_the_provider_and_sees_their_team(search, live_server, identity_provider, browser_page):
    identity_provider.person("lena", groups=["search-leads"])
    page = browser_page

    _sign_in_at_the_provider(page, live_server.url, identity_provider.issuer, "lena")

    page.wait_for_url(f"{live_server.url}/teams/search/")
    assert page.text_content("main h1").strip() == "Search"
    assert page.text_content("[data-testid=total]").strip() == "$0.00"
    assert [a.strip() for a in page.locator("header nav a").all_text_contents()] == ["Search"]
    assert page.text_content("form.logout span") == "lena"
    assert page.goto(f"{live_server.url}/teams/billing/").status == 403


def test_a_member_whose_group_is_removed_loses_the_team_at_the_next_sign_in(
    search, live_server, identity_provider, browser_page
):
    identity_provider.person("max", groups=["search-members"])
    page = browser_page
    _sign_in_at_the_provider(page, live_server.url, identity_provider.issuer, "max")
    page.wait_for_url(f"{live_server.url}/teams/search/")

    page.click("form.logout button[type=submit]")
    page.wait_for_url(f"{identity_provider.issuer}/session/end**")
    page.click("text=Yes, sign me out")
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    identity_provider.person("max", groups=["all-staff"])

    # The provider asks for the password again: its session ended with the site's.
    _sign_in_at_the_provider(page, live_server.url, identity_provider.issuer, "max")

    page.wait_for_url(f"{live_server.url}/accounts/no-team/")
    assert "none of your groups in the company directory is mapped to a team" in page.text_content("main")
    assert page.text_content("[data-testid=groups]").strip() == "all-staff"
    assert page.locator("header nav a").count() == 0
    assert page.goto(f"{live_server.url}/teams/search/").status == 403
