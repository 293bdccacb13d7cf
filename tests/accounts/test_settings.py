"""OIDC settings are read from the environment; a half-configured provider stops the settings loading."""

from __future__ import annotations

import json

from tests.attribution_site.test_settings import _settings_process

PRODUCTION = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "s" * 50, "DJANGO_ALLOWED_HOSTS": "x.example"}
SERVICES = {"REDIS_URL": "redis://cache.example:6379/0"}
SHOW = (
    "import json; from django.conf import settings as s; print(json.dumps([s.OIDC_ISSUER, s.OIDC_CLIENT_ID, "
    "s.OIDC_SCOPES, s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']]))"
)


def test_production_with_an_issuer_and_no_client_fails_loudly():
    result = _settings_process("", **PRODUCTION, **SERVICES, OIDC_ISSUER="https://login.corp.example")
    assert result.returncode != 0
    assert "OIDC_ISSUER is set but OIDC_CLIENT_ID and OIDC_CLIENT_SECRET is not" in result.stderr


def test_production_with_an_issuer_and_no_secret_fails_loudly():
    result = _settings_process(
        "", **PRODUCTION, **SERVICES, OIDC_ISSUER="https://login.corp.example", OIDC_CLIENT_ID="llm-spend"
    )
    assert result.returncode != 0
    assert "but OIDC_CLIENT_SECRET is not" in result.stderr


def test_production_refuses_a_plain_http_issuer():
    result = _settings_process(
        "",
        **PRODUCTION,
        **SERVICES,
        OIDC_ISSUER="http://login.corp.example",
        OIDC_CLIENT_ID="a",
        OIDC_CLIENT_SECRET="b",
    )
    assert result.returncode != 0
    assert "OIDC_ISSUER must use https:// in production" in result.stderr


def test_scopes_without_openid_are_refused():
    result = _settings_process(
        "", OIDC_ISSUER="https://login.corp.example", OIDC_CLIENT_ID="a", OIDC_CLIENT_SECRET="b", OIDC_SCOPES="email"
    )
    assert result.returncode != 0
    assert "OIDC_SCOPES must include openid" in result.stderr


def test_a_configured_provider_is_read_with_the_default_scopes_and_may_receive_the_sign_out_form():
    result = _settings_process(
        SHOW, OIDC_ISSUER="https://login.corp.example/realms/corp", OIDC_CLIENT_ID="llm-spend", OIDC_CLIENT_SECRET="b"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "https://login.corp.example/realms/corp",
        "llm-spend",
        "openid email profile groups",
        ["'self'", "https://login.corp.example"],
    ]


def test_without_an_issuer_nothing_changes():
    result = _settings_process(SHOW)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["", "", "openid email profile groups", ["'self'"]]
