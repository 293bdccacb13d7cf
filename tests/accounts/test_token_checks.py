"""The callback refuses what does not check out: a tampered or foreign ID token, a replayed state, a
wrong nonce; a rotation of the provider's signing keys is followed."""

from __future__ import annotations

import jwt
import pytest

from apps.accounts.models import DirectoryIdentity
from apps.accounts.provider import _key_sets
from apps.org.models import GroupMapping
from tests.factories import TeamFactory

from .conftest import TEST_SERVER

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def lena(db, identity_provider):
    team = TeamFactory(slug="search", name="Search")
    GroupMapping.objects.create(group="search-leads", role=GroupMapping.Role.LEAD, team=team)
    identity_provider.person("lena", groups=["search-leads"])


def assert_refused(client, response, reason: str) -> None:
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not DirectoryIdentity.objects.exists()
    assert client.get("/")["Location"].startswith("/accounts/login/")  # not signed in


def test_a_tampered_id_token_is_refused(client, identity_provider, sign_in):
    identity_provider.next_id_token(mode="tamper", sub="sub-someone-else")
    assert_refused(client, sign_in("lena"), "signature does not verify")


def test_an_id_token_for_another_client_is_refused(client, identity_provider, sign_in):
    identity_provider.next_id_token(mode="resign", aud="another-application")
    assert_refused(client, sign_in("lena"), "for another client (aud &#x27;another-application&#x27;)")


def test_an_id_token_from_another_issuer_is_refused(client, identity_provider, sign_in):
    identity_provider.next_id_token(mode="resign", iss="https://elsewhere.example")
    assert_refused(client, sign_in("lena"), "from issuer &#x27;https://elsewhere.example&#x27;")


def test_an_id_token_with_another_nonce_is_refused(client, identity_provider, sign_in):
    identity_provider.next_id_token(mode="resign", nonce="a-nonce-from-another-sign-in")
    assert_refused(client, sign_in("lena"), "nonce is not the one this sign-in sent")


def test_an_expired_id_token_is_refused(client, identity_provider, sign_in):
    identity_provider.next_id_token(mode="resign", exp=1_000_000_000, iat=999_999_000)
    assert_refused(client, sign_in("lena"), "has expired")


def test_a_replayed_state_is_refused(client, identity_provider):
    start = client.get("/oidc/authenticate/")
    callback = identity_provider.log_in(start["Location"], username="lena", until=TEST_SERVER).removeprefix(TEST_SERVER)
    assert client.get(callback).status_code == 302
    client.post("/accounts/logout/")

    replayed = client.get(callback)

    assert replayed.status_code == 400
    assert "already used" in replayed.content.decode()
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_callback_from_another_browser_is_refused(client, identity_provider):
    start = client.get("/oidc/authenticate/")
    callback = identity_provider.log_in(start["Location"], username="lena", until=TEST_SERVER).removeprefix(TEST_SERVER)
    client.cookies.clear()  # the session holding the state is not this browser's
    response = client.get(callback)
    assert response.status_code == 400
    assert not DirectoryIdentity.objects.exists()


def test_the_provider_saying_no_is_shown(client, identity_provider):
    client.get("/oidc/authenticate/")
    state = next(iter(client.session["oidc_states"]))
    response = client.get(f"/oidc/callback/?error=access_denied&error_description=Not+assigned&state={state}")
    assert response.status_code == 400
    assert "did not sign you in: access_denied (Not assigned)" in response.content.decode()


def test_the_authorization_request_carries_state_nonce_and_a_pkce_challenge(client, identity_provider):
    location = client.get("/oidc/authenticate/")["Location"]
    assert location.startswith(f"{identity_provider.issuer}/auth?")
    for parameter in ("state=", "nonce=", "code_challenge=", "code_challenge_method=S256", "response_type=code"):
        assert parameter in location
    assert "scope=openid+email+profile+groups" in location


def test_signing_keys_rotated_between_two_sign_ins_are_followed(client, identity_provider, sign_in):
    assert sign_in("lena").status_code == 302
    first_kid = identity_provider.kid
    assert [key["kid"] for key in next(iter(_key_sets.values()))] == [first_kid]
    client.post("/accounts/logout/")

    identity_provider.rotate_keys()
    response = sign_in("lena")

    assert response.status_code == 302, response.content
    assert identity_provider.kid != first_kid
    assert jwt.get_unverified_header(client.session["oidc_id_token"])["kid"] == identity_provider.kid
    assert [key["kid"] for key in next(iter(_key_sets.values()))] == [identity_provider.kid]


def test_a_disabled_account_is_refused(client, identity_provider, sign_in):
    sign_in("lena")
    user = DirectoryIdentity.objects.get().user
    user.is_active = False
    user.save()
    assert client.get("/teams/search/")["Location"].startswith("/accounts/login/")  # the session ended too

    response = sign_in("lena")

    assert response.status_code == 400
    assert "disabled here" in response.content.decode()


def test_a_groups_overage_is_refused_rather_than_taking_every_team_away(client, identity_provider, sign_in):
    identity_provider.person("lena", groups=[])
    identity_provider.next_id_token(
        mode="resign",
        _claim_names={"groups": "src1"},
        _claim_sources={"src1": {"endpoint": "https://graph.example/v1.0/users/x/getMemberObjects"}},
    )
    assert_refused(client, sign_in("lena"), "a pointer instead of the &#x27;groups&#x27; claim")
