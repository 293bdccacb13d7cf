"""The login page: as it always was without OIDC_ISSUER; the provider first, passwords beneath, with it."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


def test_without_an_issuer_the_page_offers_passwords_only(client, settings):
    settings.OIDC_ISSUER = ""
    page = client.get("/accounts/login/").content.decode()
    assert 'id="id_username"' in page and 'id="id_password"' in page
    assert "Sign in with" not in page and "<details" not in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_without_an_issuer_a_password_still_logs_in(client, settings):
    settings.OIDC_ISSUER = ""
    UserFactory(username="lead-search")
    response = client.post("/accounts/login/", {"username": "lead-search", "password": PASSWORD})
    assert response.status_code == 302
    assert response.wsgi_request.user.username == "lead-search"


def test_with_an_issuer_the_provider_comes_first(client, identity_provider):
    page = client.get("/accounts/login/?next=/teams/search/").content.decode()
    button = page.index('data-testid="sign-in-provider"')
    assert "Sign in with Test Directory" in page
    assert 'href="/oidc/authenticate/?next=/teams/search/"' in page
    assert button < page.index('id="id_username"')


def test_with_an_issuer_local_passwords_still_work_for_the_admin(client, identity_provider):
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    response = client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.wsgi_request.user.username == "admin"


def test_a_wrong_password_opens_the_password_form(client, identity_provider):
    UserFactory(username="admin")
    page = client.post("/accounts/login/", {"username": "admin", "password": "wrong"}).content.decode()
    assert '<details class="local-login" open>' in page
    assert "didn't match" in page


def test_an_unreachable_provider_is_a_clear_error(client, settings, identity_provider):
    identity_provider.stop()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 502
    assert "Could not read the provider&#x27;s discovery document" in response.content.decode()


def test_a_password_post_with_a_code_in_the_url_is_not_a_provider_sign_in(client, identity_provider):
    UserFactory(username="admin")
    response = client.post("/accounts/login/?code=x&state=y", {"username": "admin", "password": "wrong"})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
