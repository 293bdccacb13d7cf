"""Revoking or expiring a key holds however the row changed: within the snapshot's lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.usage.models import ApiKey
from apps.usage.services import api_keys_revoke
from attribution_site import snapshots

from .conftest import EVENTS_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The snapshots' monotonic clock, moved on by hand."""
    now = [1_000.0]
    monkeypatch.setattr(snapshots, "_clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def status(key_client) -> int:
    return key_client.get(EVENTS_URL).status_code


def test_a_key_revoked_by_a_bulk_update_is_refused_once_the_snapshot_is_rebuilt(key_client, api_key, clock, settings):
    assert status(key_client) == 200
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())  # no signal, no version bump
    clock(settings.API_KEY_SNAPSHOT_SECONDS - 1)
    assert status(key_client) == 200  # this process's copy is still young
    clock(1)
    response = key_client.get(EVENTS_URL)
    assert (response.status_code, response.json()) == (403, {"detail": "This API key has been revoked."})


def test_a_key_revoked_by_plain_sql_is_refused_within_the_snapshot_lifetime(key_client, api_key, clock, settings):
    assert status(key_client) == 200
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ApiKey._meta.db_table} SET revoked_at = %s WHERE id = %s",
            [connection.ops.adapt_datetimefield_value(timezone.now()), api_key.pk],
        )
    clock(settings.API_KEY_SNAPSHOT_SECONDS)
    assert status(key_client) == 403


def test_the_revoke_service_refuses_the_key_at_once(key_client, api_key, django_capture_on_commit_callbacks):
    assert status(key_client) == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert api_keys_revoke(keys=ApiKey.objects.all()) == 1
    assert status(key_client) == 403


def test_revoking_twice_keeps_the_first_moment(api_key):
    api_keys_revoke(keys=ApiKey.objects.all())
    first = ApiKey.objects.get().revoked_at
    assert api_keys_revoke(keys=ApiKey.objects.all()) == 0
    assert ApiKey.objects.get().revoked_at == first


def test_a_key_past_its_expiry_is_refused(key_client, api_key):
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    snapshots.invalidate_all()
    response = key_client.get(EVENTS_URL)
    assert (response.status_code, response.json()) == (403, {"detail": "This API key has expired."})


def test_a_revocation_scheduled_for_later_lets_the_key_work_until_then(key_client, api_key):
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now() + timedelta(hours=1))
    snapshots.invalidate_all()
    assert status(key_client) == 200
