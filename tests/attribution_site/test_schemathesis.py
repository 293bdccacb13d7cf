"""Every API operation, generated from the OpenAPI schema the app serves, answers as that schema says.

Schemathesis runs every check it has (all are enabled unless configured otherwise, as with
`--checks all`) over valid and invalid requests, with a fixed seed and a bounded number of examples.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from apps.budgets.models import Alert
from apps.usage.services import events_ingest
from attribution_site.wsgi import application
from tests.factories import ModelPriceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spend(api_key, team, finance):
    """Some spend to read back: a priced event, the organisation's own alert (no team)."""
    from django.utils import timezone

    from apps.usage.keys import api_key_lookup

    ModelPriceFactory()
    now = timezone.now()
    result = events_ingest(
        key=api_key_lookup(api_key.raw_key),
        events=[
            {
                "event_id": f"seed-{n}",
                "timestamp": (now - timedelta(days=n)).isoformat(),
                "provider": "anthropic",
                "model": "test-model",
                "input_tokens": 1000,
                "output_tokens": 100,
                "team": "search",
                "customer": "acme",
            }
            for n in range(3)
        ],
    )
    assert result.accepted == 3
    Alert.objects.create(kind=Alert.Kind.THRESHOLD, subject="Organisation", period=now.strftime("%Y-%m"), message="80%")


@pytest.fixture
def connection_kept():
    """The app is called as WSGI, in this test's transaction: like Django's test client, do not let
    the end of a request close the database connection (and the transaction) under the test."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


# Loaded once, as the app serves it to anyone (building the schema reads no table).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


# Rules between parameters that OpenAPI cannot state; a schema-valid costs query may break them.
CROSS_PARAMETER_RULES = {
    "end": ("Must not be before start.", "Ask for at most 400 days at a time."),
    "group_by": ("Grouping by ",),
}


def costs_cross_parameter_rules_only(ctx, response, case):
    """positive_data_acceptance for the costs: a valid query is answered, or refused only for
    breaking a rule between its parameters, and then naming it."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    body = response.json()
    broken = {
        name: messages
        for name, messages in body.items()
        if not all(message.startswith(CROSS_PARAMETER_RULES.get(name, ("\0",))) for message in messages)
    }
    assert not broken, f"a schema-valid costs query was refused: {body}"
    return True


# Event rules that OpenAPI 3.0 cannot state: the timestamp window moves with the clock, the cache and
# reasoning counts are parts of other counts, a blank string is missing, NUL cannot be stored, an
# attribute's key is at most 64 characters.
EVENT_RULES = (
    "Is older than the",
    "Is more than",
    "Must include the cache reads and writes",
    "Cannot exceed",
    "This field is required.",
    "Must not contain a NUL",
    "Key ",
)


def events_refused_only_for_rules_the_schema_cannot_state(ctx, response, case):
    """positive_data_acceptance for ingestion: schema-valid events are stored, or refused (422, each
    named in `rejected`) only for a rule between fields or with the clock, named in the message."""
    if case.method.upper() != "POST" or case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code != 422:
        assert response.status_code < 400, f"schema-valid events got {response.status_code}"
        return True
    messages = [m for rejected in response.json()["rejected"] for ms in rejected["errors"].values() for m in ms]
    assert messages and all(m.startswith(EVENT_RULES) for m in messages), f"schema-valid events refused: {messages}"
    return True


def invalid_events_refused_and_named(ctx, response, case):
    """negative_data_rejection for ingestion: a request that breaks the schema is refused; a batch
    of which some events are valid stores those (202) and names every refused one in `rejected`,
    so valid events are never lost to an invalid neighbour."""
    if case.method.upper() != "POST" or case.meta is None or case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 202:
        assert response.json()["rejected"], "a schema-violating batch was accepted without naming a refused event"
    else:
        assert 400 <= response.status_code < 500, f"a schema-violating request got {response.status_code}"
    return True


def _exclusions(label: str) -> tuple[list, list]:
    if label == "GET /api/v1/costs":
        return [positive_data_acceptance], [costs_cross_parameter_rules_only]
    if label == "POST /api/v1/events":
        return (
            [negative_data_rejection, positive_data_acceptance],
            [invalid_events_refused_and_named, events_refused_only_for_rules_the_schema_cannot_state],
        )
    return [], []


SETTINGS = settings(
    max_examples=30, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


@schema.exclude(method="POST").parametrize()
@SETTINGS
def test_every_read_answers_as_the_schema_says(case, api_key, spend, connection_kept):
    excluded, added = _exclusions(case.operation.label)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key.raw_key}"}, excluded_checks=excluded, additional_checks=added
    )


@schema.exclude(method="POST").parametrize()
@SETTINGS
def test_every_read_answers_finance_as_the_schema_says(case, finance, spend, connection_kept):
    """Finance's session reads what no API key may (the reconciliation, the FOCUS export)."""
    session = Client()
    session.force_login(finance)
    excluded, added = _exclusions(case.operation.label)
    case.call_and_validate(
        headers={"Cookie": f"sessionid={session.cookies['sessionid'].value}"},
        excluded_checks=excluded,
        additional_checks=added,
    )


@schema.include(method="POST").parametrize()
@SETTINGS
def test_ingestion_answers_as_the_schema_says(case, api_key, spend, connection_kept):
    excluded, added = _exclusions(case.operation.label)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key.raw_key}"}, excluded_checks=excluded, additional_checks=added
    )


def test_the_schema_is_served_to_anyone():
    assert APIClient().get("/api/schema/", {"format": "json"}).status_code == 200
