"""Sign-in tests: a real OpenID provider per test, and the site configured to use it."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

import pytest

from apps.accounts.provider import provider_cache_clear
from tests.browser import browser_page  # noqa: F401  (a fixture of the browser tests)

from .identity_provider import CLIENT_ID, CLIENT_SECRET, PASSWORD, IdentityProvider

TEST_SERVER = "http://testserver"


@pytest.fixture
def identity_provider(request, settings, tmp_path):
    """oidc-provider on a free loopback port, registered for the test client's host and, in browser
    tests, the live server's; the site's OIDC settings point at it."""
    origins = [TEST_SERVER]
    if "live_server" in request.fixturenames:
        origins.append(request.getfixturevalue("live_server").url)
    provider = IdentityProvider(
        tmp_path,
        redirect_uris=[f"{origin}/oidc/callback/" for origin in origins],
        post_logout_redirect_uris=[f"{origin}/accounts/login/" for origin in origins],
    )
    provider.start()
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Test Directory"
    csp = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    csp["DIRECTIVES"]["form-action"].append(f"http://{urlsplit(provider.issuer).netloc}")
    settings.CONTENT_SECURITY_POLICY = csp
    provider_cache_clear()
    yield provider
    provider.stop()
    provider_cache_clear()


@pytest.fixture
def sign_in(client, identity_provider):
    """Sign in through the provider's login form with the test client; returns the callback's response."""

    def run(username: str, *, password: str = PASSWORD, next_url: str = ""):
        start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
        assert start.status_code == 302, start.content
        callback = identity_provider.log_in(start["Location"], username=username, password=password, until=TEST_SERVER)
        return client.get(callback.removeprefix(TEST_SERVER))

    return run
