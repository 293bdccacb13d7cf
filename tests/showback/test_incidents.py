"""Anomalies on the pages: one incident one row, names without backticks, organisation-wide ones on the overview."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.budgets.anomalies import Driver
from apps.budgets.models import Anomaly
from apps.showback.selectors.incidents import incidents_group
from tests.factories import AnomalyFactory

pytestmark = pytest.mark.django_db


def driver(dimension: str, value: str, share: str = "1") -> dict:
    return {"dimension": dimension, "value": value, "delta": "374", "share": share}


@pytest.fixture
def one_incident(team):
    """One spike of search's agent in production, detected on five dimensions."""
    today = timezone.now().date()
    spike = [
        driver("environment", "production"),
        driver("team", "search"),
        driver("product", "answers"),
        driver("feature", "summarise"),
        driver("agent", "crawler"),
        driver("model", "claude-opus-4-1", "0.91"),
    ]
    found = {}
    for dimension, subject, amount in (
        ("environment", "production", "500"),
        ("team", "search", "450"),
        ("product", "answers", "440"),
        ("feature", "summarise", "430"),
        ("agent", "crawler", "420"),
    ):
        found[dimension] = AnomalyFactory(
            dimension=dimension,
            subject=subject,
            team=team,
            day=today,
            amount=Decimal(amount),
            drivers=[d for d in spike if d["dimension"] != dimension],
            explanation=f"{dimension} `{subject}`: ${amount}.00 today vs $38.00 typical",
        )
    return found


def test_the_five_dimensions_of_one_spike_are_one_incident_led_by_the_broadest(one_incident):
    incidents = incidents_group(list(Anomaly.objects.all()))
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.lead == one_incident["environment"]
    assert incident.also == [
        ("team", "search"),
        ("product", "answers"),
        ("feature", "summarise"),
        ("agent", "crawler"),
    ]
    assert incident.drivers == [Driver("model", "claude-opus-4-1", Decimal("374"), Decimal("0.91"))]


def test_the_team_page_shows_one_row_for_the_incident_with_names_not_backticks(one_incident, as_user, lead):
    html = as_user(lead).get("/teams/search/").content.decode()
    section = html.split('id="anomalies"')[1].split("</section>")[0]
    assert section.count('<tr class="incident') == 1
    assert "`" not in section
    assert "environment <strong>production</strong>: $500.00 today" in section
    assert "Also seen as team <strong>search</strong>, product <strong>answers</strong>" in section
    assert "model <strong>claude-opus-4-1</strong> 91%" in section


def test_acknowledging_the_incident_acknowledges_each_of_its_anomalies(one_incident, as_user, lead):
    first, *others = sorted(one_incident.values(), key=lambda a: -a.amount)
    response = as_user(lead).post(
        f"/anomalies/{first.pk}/acknowledge/", {"next": "/teams/search/", "also": [a.pk for a in others]}
    )
    assert response.status_code == 302
    assert Anomaly.objects.filter(acknowledged_by=lead).count() == 5


def test_acknowledging_leaves_another_teams_anomaly_passed_along_with_it_alone(one_incident, as_user, lead, other_team):
    theirs = AnomalyFactory(team=other_team)
    as_user(lead).post(f"/anomalies/{one_incident['team'].pk}/acknowledge/", {"also": [theirs.pk]})
    theirs.refresh_from_db()
    assert theirs.acknowledged_at is None


def test_an_organisation_wide_anomaly_is_on_the_overview_not_on_an_unrelated_teams_page(
    as_user, lead, finance, other_team, team
):
    # Unattributed spend spiked in production; detection handed it to the next team it could name.
    AnomalyFactory(
        dimension="environment",
        subject="production",
        team=team,
        drivers=[driver("team", "(none)", "0.95"), driver("team", "search", "0.05")],
        explanation="environment `production`: $412.00 today vs $38.00 typical",
    )
    team_page = as_user(lead).get("/teams/search/").content.decode()
    assert "environment <strong>production</strong>" not in team_page
    overview = as_user(finance).get("/overview/").content.decode()
    assert "environment <strong>production</strong>" in overview
    assert "organisation-wide" in overview


def test_unrelated_anomalies_on_the_same_day_stay_separate_rows(team):
    AnomalyFactory(team=team, subject="crawler")
    AnomalyFactory(team=team, subject="summariser")
    assert len(incidents_group(list(Anomaly.objects.all()))) == 2
