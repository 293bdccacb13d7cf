"""Validation of registry rows an admin edits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.org.models import Environment, TagPolicy, Team

pytestmark = pytest.mark.django_db


def policy(required_tags) -> TagPolicy:
    return TagPolicy(environment=Environment.objects.get(slug="staging"), required_tags=required_tags)


def test_a_tag_policy_of_event_tags_is_valid():
    valid = policy(["team", "customer"])
    valid.full_clean()
    valid.save()
    assert TagPolicy.objects.get(pk=valid.pk).required_tags == ["team", "customer"]


def test_a_tag_policy_refuses_unknown_tags():
    with pytest.raises(ValidationError, match="Unknown tags: colour"):
        policy(["team", "colour"]).full_clean()


def test_a_tag_policy_refuses_anything_but_a_list_of_names():
    with pytest.raises(ValidationError, match="Give a list of tag names"):
        policy({"team": True}).full_clean()


def test_a_team_slug_must_be_lowercase_to_match_the_tags():
    with pytest.raises(ValidationError, match="Tags are matched lowercased: use 'ml-platform'"):
        Team(slug="ML-Platform", name="ML platform").full_clean()
