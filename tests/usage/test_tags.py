"""Tags at ingestion: key pins and defaults, normalization, aliases, attribution and the tag policy."""

from __future__ import annotations

import pytest

from apps.org.models import TagAlias
from apps.usage.models import UsageEvent
from tests.factories import EventPayloadFactory, ModelPriceFactory, ProductFactory, TagAliasFactory, TeamFactory

pytestmark = pytest.mark.django_db


def ingested(send, *, client=None, **tags) -> UsageEvent:
    """The stored event after sending one event with these tags."""
    payload = EventPayloadFactory(**tags)
    send(payload, client=client)
    return UsageEvent.objects.get(event_id=payload["event_id"])


def test_a_pinned_tag_overrides_the_events_value(send, client_for, team, other_team, price):
    client = client_for(pinned_tags={"team": "search"})
    event = ingested(send, client=client, team="billing")
    assert event.team == team


def test_a_pinned_tag_keeps_the_value_the_event_sent_in_raw_tags(send, client_for, team, other_team, price):
    client = client_for(pinned_tags={"team": "search"})
    event = ingested(send, client=client, team="billing")
    assert (event.tags_sent, event.raw_tags) == ({"team": "billing"}, [["team", "billing"]])


def test_a_default_tag_fills_a_missing_tag(send, client_for, price):
    client = client_for(default_tags={"environment": "staging"})
    event = ingested(send, client=client)
    assert (event.environment.slug, event.tags_sent, event.raw_tags) == ("staging", {}, [["environment", None]])


def test_tags_sent_as_they_are_stored_take_no_raw_tags(send, team, price):
    event = ingested(send, team="search", feature="summarize", customer="cus_42")

    assert event.raw_tags is None
    assert event.tags_sent == {"team": "search", "feature": "summarize", "customer": "cus_42"}


def test_raw_tags_keep_the_spelling_normalization_changed(send, team, price):
    event = ingested(send, team="Search", feature="summarize")

    assert event.team == team
    assert event.raw_tags == [["team", "Search"]]
    assert event.tags_sent == {"team": "Search", "feature": "summarize"}


def test_an_event_stored_with_its_whole_raw_tags_object_reads_as_before(send, team, price):
    event = ingested(send, team="search")
    UsageEvent.objects.filter(pk=event.pk).update(raw_tags={"team": "Search", "environment": "Prod"})

    assert UsageEvent.objects.get(pk=event.pk).tags_sent == {"team": "Search", "environment": "Prod"}


def test_a_default_tag_does_not_replace_a_tag_the_event_sent(send, client_for, price):
    client = client_for(default_tags={"environment": "staging"})
    event = ingested(send, client=client, environment="development")
    assert event.environment.slug == "development"


def test_it_trims_lowercases_and_dashes_tag_values(send, price):
    event = ingested(send, team="  Search Team ", feature="Auto Complete", agent="Planner/V2")
    assert (event.team_tag, event.feature, event.agent) == ("search-team", "auto-complete", "planner-v2")


def test_it_matches_a_registered_team_whatever_its_case(send, team, price):
    assert ingested(send, team="SEARCH").team == team


def test_it_matches_a_registered_product(send, team, price):
    product = ProductFactory(slug="search-web", team=team)
    assert ingested(send, product="Search Web").product == product


def test_a_team_alias_maps_a_spelling_onto_the_registered_team(send, team, price):
    TagAliasFactory(dimension=TagAlias.Dimension.TEAM, alias="Search-Team", target="search")
    event = ingested(send, team="search team")
    assert (event.team, event.team_tag) == (team, "search-team")


def test_the_environment_alias_prod_means_production(send, price):
    assert ingested(send, environment="prod").environment.slug == "production"


def test_the_provider_alias_bedrock_means_aws_bedrock_and_is_priced_as_such(send):
    bedrock_price = ModelPriceFactory(provider="aws.bedrock")
    event = ingested(send, provider="Bedrock")
    assert (event.provider, event.price_id) == ("aws.bedrock", bedrock_price.id)


def test_customer_ids_keep_their_case(send, price):
    assert ingested(send, customer=" ACME-Corp_42 ").customer == "ACME-Corp_42"


def test_an_unknown_team_is_kept_verbatim_without_a_team(send, team, price):
    event = ingested(send, team="ranking")
    assert (event.team_tag, event.team_id, event.unattributed_reason) == ("ranking", None, "unknown team 'ranking'")


def test_an_event_without_a_team_is_unattributed_for_a_missing_team_tag(send, team, price):
    event = ingested(send)
    assert (event.team_id, event.unattributed_reason) == (None, "missing team tag")


def test_an_attributed_event_has_no_unattributed_reason(send, team, price):
    assert ingested(send, team="search").unattributed_reason == ""


def test_production_events_missing_required_tags_are_flagged(send, team, price):
    event = ingested(send, team="search", environment="production")
    assert event.missing_tags == "product"


def test_production_events_are_flagged_for_every_missing_tag(send, price):
    assert ingested(send, environment="prod").missing_tags == "team,product"


def test_production_events_with_every_required_tag_are_not_flagged(send, team, price):
    ProductFactory(slug="search-web", team=team)
    assert ingested(send, team="search", product="search-web", environment="production").missing_tags == ""


def test_a_flagged_event_is_still_stored_and_priced(send, price):
    event = ingested(send, environment="production")
    assert (event.missing_tags, event.price_id) == ("team,product", price.id)


def test_non_production_events_have_no_required_tags(send, price):
    assert ingested(send, environment="staging").missing_tags == ""


def test_a_team_registered_mid_test_is_seen_by_the_next_ingest(send, api_key, price):
    assert ingested(send, team="ranking").team_id is None
    ranking = TeamFactory(slug="ranking")
    api_key.chargeable_teams.add(ranking)  # a registered team is charged only by keys that may
    assert ingested(send, team="ranking").team == ranking


def test_a_tag_alias_added_mid_test_is_seen_by_the_next_ingest(send, team, price):
    assert ingested(send, team="srch").team_id is None
    TagAliasFactory(dimension=TagAlias.Dimension.TEAM, alias="srch", target="search")
    assert ingested(send, team="srch").team == team


def test_an_event_naming_no_environment_is_held_to_the_production_policy(price, send):
    send(EventPayloadFactory(event_id="no-env", team="search"))
    assert UsageEvent.objects.get(event_id="no-env").missing_tags == "environment,product"
