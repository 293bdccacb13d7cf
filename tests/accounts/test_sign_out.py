"""Signing out ends the local session, and the provider's too through its end_session_endpoint."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.org.models import GroupMapping
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_signing_out_ends_both_sessions(client, identity_provider, sign_in):
    team = TeamFactory(slug="search", name="Search")
    GroupMapping.objects.create(group="search-leads", role=GroupMapping.Role.LEAD, team=team)
    identity_provider.person("lena", groups=["search-leads"])
    sign_in("lena")
    id_token = client.session["oidc_id_token"]

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    discovery = requests.get(f"{identity_provider.issuer}/.well-known/openid-configuration", timeout=5).json()
    assert f"{location.scheme}://{location.netloc}{location.path}" == discovery["end_session_endpoint"]
    assert parse_qs(location.query) == {
        "id_token_hint": [id_token],
        "client_id": ["llm-spend"],
        "post_logout_redirect_uri": ["http://testserver/accounts/login/"],
    }
    # The provider accepts the hint and the return address (it answers 400 to either one it refuses);
    # the browser test completes a sign-out at the provider.
    accepted = requests.get(response["Location"], timeout=5)
    assert accepted.status_code == 200, accepted.text
    assert client.get("/teams/search/")["Location"].startswith("/accounts/login/")


def test_a_local_login_signs_out_locally_only(client, identity_provider):
    user = UserFactory(username="admin", is_staff=True)
    client.force_login(user)
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
