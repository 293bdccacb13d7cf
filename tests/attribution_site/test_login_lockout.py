"""Login lockout: repeated failures lock an account and an address out for a cool-off period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import override_settings
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture
def login(client):
    def attempt(username: str, password: str, *, address: str = "198.51.100.7", **headers):
        return client.post(
            "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers
        )

    return attempt


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def test_a_wrong_password_shows_the_form_again(login, alice):
    response = login("alice", "wrong")

    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_five_failures_lock_the_account_out_from_any_address(login, alice):
    for n in range(5):
        login("alice", "wrong", address=f"198.51.100.{n + 1}")

    response = login("alice", PASSWORD, address="203.0.113.50")

    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert b"15 minutes" in response.content
    assert "_auth_user_id" not in response.wsgi_request.session


def test_four_failures_still_let_the_right_password_in(login, alice):
    for _ in range(4):
        login("alice", "wrong")

    response = login("alice", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_five_failures_from_one_address_lock_that_address_out_for_every_account(login, alice):
    for n in range(5):
        login(f"nobody{n}", "wrong", address="198.51.100.99")

    refused = login("alice", PASSWORD, address="198.51.100.99")
    elsewhere = login("alice", PASSWORD, address="203.0.113.50")

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_a_successful_login_resets_the_failure_count(login, alice, client):
    for _ in range(4):
        login("alice", "wrong")
    assert login("alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        login("alice", "wrong")

    assert login("alice", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(login, alice):
    for _ in range(5):
        login("alice", "wrong")
    assert login("alice", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert login("alice", PASSWORD).status_code == 302


def test_the_forwarded_for_header_is_ignored_unless_a_proxy_is_configured(login, alice):
    for n in range(5):
        login(f"nobody{n}", "wrong", address="198.51.100.99", HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}")

    response = login("alice", PASSWORD, address="198.51.100.99", HTTP_X_FORWARDED_FOR="192.0.2.200")

    assert response.status_code == 429


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_configured_proxy_the_address_is_the_one_the_proxy_saw(login, alice):
    proxy = "10.0.0.2"
    for n in range(5):
        # A client cannot pick its address by sending its own header: the proxy appends the real one.
        login(f"nobody{n}", "wrong", address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}, 198.51.100.99")

    refused = login("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.99")
    other_client = login("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.50")

    assert refused.status_code == 429
    assert other_client.status_code == 302
