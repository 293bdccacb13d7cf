"""The API key admin edits pinned and default tags as fields; bookkeeping tables stay out of the admin."""

from __future__ import annotations

import pytest

from apps.usage.models import ApiKey
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_a_keys_pinned_and_default_tags_are_edited_one_field_a_tag(admin_client, team):
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"})
    html = admin_client.get(f"/admin/usage/apikey/{key.pk}/change/").content.decode()
    assert 'name="pinned_team" value="search"' in html
    assert 'name="default_environment"' in html

    response = admin_client.post(
        f"/admin/usage/apikey/{key.pk}/change/",
        {"name": key.name, "team": team.pk, "pinned_team": "search", "default_environment": " staging "},
    )

    assert response.status_code == 302, response.content.decode()
    key.refresh_from_db()
    assert (key.pinned_tags, key.default_tags) == ({"team": "search"}, {"environment": "staging"})


def test_a_new_key_with_tags_is_created_from_the_fields(admin_client, team):
    response = admin_client.post(
        "/admin/usage/apikey/add/", {"name": "batch", "team": team.pk, "pinned_product": "answers"}
    )
    assert response.status_code == 302, response.content.decode()
    assert ApiKey.objects.get(name="batch").pinned_tags == {"product": "answers"}


def test_dirty_marks_are_not_in_the_admin(admin_client):
    assert admin_client.get("/admin/usage/dirtymark/").status_code == 404
    assert "Dirty" not in admin_client.get("/admin/").content.decode()
