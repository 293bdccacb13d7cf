"""manage.py create_api_key, and how API keys are stored."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.usage.models import ApiKey, api_key_hash

from .conftest import EVENTS_URL

pytestmark = pytest.mark.django_db


def create_api_key(*args: str) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_key_that_authenticates(team):
    raw = create_api_key("--team", "search", "--name", "search-service")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(EVENTS_URL).status_code == 200


def test_it_creates_the_key_for_the_team(team):
    create_api_key("--team", "search", "--name", "search-service")
    assert ApiKey.objects.get().team == team


def test_it_stores_pinned_and_default_tags(team):
    create_api_key(
        "--team", "search", "--name", "search-service", "--pin", "team=search", "--default", "environment=production"
    )
    key = ApiKey.objects.get()
    assert (key.pinned_tags, key.default_tags) == ({"team": "search"}, {"environment": "production"})


def test_it_refuses_an_unknown_team(team):
    with pytest.raises(CommandError, match="No team with slug 'ranking'"):
        create_api_key("--team", "ranking", "--name", "ranking-service")


@pytest.mark.parametrize("pair", ["team", "team=", "=search"])
def test_it_refuses_a_pin_that_is_not_tag_equals_value(team, pair):
    with pytest.raises(CommandError, match="--pin expects tag=value"):
        create_api_key("--team", "search", "--name", "search-service", "--pin", pair)


def test_it_refuses_a_pin_of_an_unknown_tag(team):
    with pytest.raises(CommandError, match="Unknown tags: colour"):
        create_api_key("--team", "search", "--name", "search-service", "--pin", "colour=blue")
    assert not ApiKey.objects.exists()


def test_a_key_is_stored_only_as_its_hash(team):
    raw = create_api_key("--team", "search", "--name", "search-service")
    key = ApiKey.objects.get()
    assert key.hashed_key == api_key_hash(raw)
    assert raw not in {str(value) for value in ApiKey.objects.values().get().values()}


def test_a_key_keeps_a_short_prefix_to_recognise_it(team):
    raw = create_api_key("--team", "search", "--name", "search-service")
    assert ApiKey.objects.get().prefix == raw[:12]
