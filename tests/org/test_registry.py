"""Tag normalization and the registry snapshot ingestion reads."""

from __future__ import annotations

import pytest

from apps.org.models import TagAlias
from apps.org.registry import registry
from apps.org.tags import normalize_tag
from tests.factories import TagAliasFactory, TeamFactory


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("  Search Team ", "search-team"),
        ("SEARCH", "search"),
        ("search__team", "search__team"),
        ("a / b", "a-b"),
        ("--edge--", "edge"),
        ("v1.2", "v1.2"),
        ("ＳＥＡＲＣＨ", "search"),
        ("検索", "検索"),
        ("Équipe Données", "équipe-données"),
    ],
)
def test_it_normalizes_a_tag_value(value, normalized):
    assert normalize_tag(value) == normalized


@pytest.mark.django_db
def test_a_tag_alias_is_saved_normalized():
    alias = TagAliasFactory(dimension=TagAlias.Dimension.TEAM, alias=" Search Team ", target="Search")
    assert (alias.alias, alias.target) == ("search-team", "search")


@pytest.mark.django_db
def test_a_customer_alias_keeps_the_case_of_its_target():
    alias = TagAliasFactory(dimension=TagAlias.Dimension.CUSTOMER, alias="Acme", target="ACME-Corp")
    assert (alias.alias, alias.target) == ("acme", "ACME-Corp")


@pytest.mark.django_db
def test_the_registry_maps_an_alias_onto_its_target():
    TagAliasFactory(dimension=TagAlias.Dimension.TEAM, alias="srch", target="search")
    assert registry.get().canonical("team", "srch") == "search"


@pytest.mark.django_db
def test_a_value_without_an_alias_stands_for_itself():
    assert registry.get().canonical("team", "search") == "search"


@pytest.mark.django_db
def test_the_registry_is_rebuilt_after_a_team_is_added():
    assert "ranking" not in registry.get().team_ids
    team = TeamFactory(slug="ranking")
    assert registry.get().team_ids["ranking"] == team.id
