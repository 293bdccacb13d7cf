"""What migration 0002 seeds: the standard environments, their spellings and the production tag policy."""

from __future__ import annotations

import pytest

from apps.org.models import Environment, TagAlias, TagPolicy

pytestmark = pytest.mark.django_db


def test_it_seeds_the_four_standard_environments_with_only_production_as_production():
    assert dict(Environment.objects.values_list("slug", "is_production")) == {
        "development": False,
        "production": True,
        "staging": False,
        "test": False,
    }


def test_production_requires_team_product_and_environment_tags():
    assert TagPolicy.objects.get(environment__slug="production").required_tags == ["team", "product", "environment"]


def test_only_production_has_a_tag_policy():
    assert list(TagPolicy.objects.values_list("environment__slug", flat=True)) == ["production"]


@pytest.mark.parametrize(("alias", "target"), [("prod", "production"), ("stg", "staging"), ("dev", "development")])
def test_it_seeds_common_environment_spellings(alias, target):
    assert TagAlias.objects.get(dimension="environment", alias=alias).target == target


@pytest.mark.parametrize(("alias", "target"), [("bedrock", "aws.bedrock"), ("vertex", "gcp.vertex_ai")])
def test_it_seeds_provider_spellings(alias, target):
    assert TagAlias.objects.get(dimension="provider", alias=alias).target == target
