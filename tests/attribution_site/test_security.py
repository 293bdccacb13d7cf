"""What a security review checks: escaped errors, a strict Content-Security-Policy, and a clean
deploy check in production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from tests.showback.conftest import company  # noqa: F401  (a fixture)

SCRIPT = "<script>alert(document.cookie)</script>"
PAGES = ["/teams/search/", "/teams/search/statement.csv", "/overview/"]


@pytest.mark.parametrize("path", PAGES)
def test_a_month_carrying_a_script_is_shown_escaped_on_the_error_page(client, admin_user, team, path):
    client.force_login(admin_user)
    response = client.get(path, {"month": SCRIPT})
    body = response.content.decode()
    assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8")
    assert SCRIPT not in body
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in body
    assert 'id="error"' in body  # the styled page, with the site's navigation


def test_a_month_carrying_a_script_survives_the_login_redirect_only_escaped(client, lead):
    response = client.get("/teams/search/", {"month": SCRIPT}, follow=True)
    assert SCRIPT not in response.content.decode()
    client.force_login(lead)
    response = client.get("/teams/search/", {"month": SCRIPT})
    assert response.status_code == 400 and SCRIPT not in response.content.decode()


def test_an_unknown_grain_is_shown_on_the_error_page(client, lead):
    client.force_login(lead)
    response = client.get("/teams/search/", {"grain": SCRIPT})
    assert response.status_code == 400
    assert 'id="error"' in response.content.decode() and SCRIPT not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/api/docs/"])
def test_every_page_forbids_inline_script(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


@pytest.mark.django_db
def test_the_team_page_runs_no_inline_script(client, lead, company):  # noqa: F811
    client.force_login(lead)
    body = client.get("/teams/search/").content.decode()
    assert "<script>" not in body and "<script " not in body.replace("<script src=", "")


@pytest.mark.django_db
def test_the_api_docs_load_their_script_from_a_url(client):
    body = client.get("/api/docs/").content.decode()
    assert "<script src=" in body
    assert "<script>" not in body


def _production(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "REDIS_", "CACHE_"))
    }
    production = {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "spend.example.com",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**clean, **production},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_passes_with_no_warnings_in_production():
    result = _production("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_redirects_plain_http_and_sends_hsts_but_leaves_the_probes_alone():
    code = (
        "from django.test import Client; c = Client(); "
        "r = c.get('/accounts/login/', HTTP_HOST='spend.example.com'); print(r.status_code, r['Location']); "
        "r = c.get('/healthz', HTTP_HOST='spend.example.com', HTTP_X_FORWARDED_PROTO='https'); "
        "print(r.status_code, r['Strict-Transport-Security']); "
        "r = c.get('/healthz', HTTP_HOST='spend.example.com'); print(r.status_code)"
    )
    result = _production(
        "shell", "--no-imports", "-c", code, DATABASE_URL=f"sqlite:///{settings.VAR_DIR}/security-check.sqlite3"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "301 https://spend.example.com/accounts/login/"
    assert lines[1] == "200 max-age=31536000; includeSubDomains; preload"
    assert lines[2] == "200"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/teams/search/statement.csv", "/overview.csv", "/api/v1/focus.csv?month=2026-10"])
def test_every_csv_names_its_charset(client, admin_user, company, path):  # noqa: F811
    client.force_login(admin_user)
    response = client.get(path)
    assert (response.status_code, response["Content-Type"]) == (200, "text/csv; charset=utf-8")
