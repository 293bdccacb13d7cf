from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.insights.detectors.batch import batch_detect
from apps.insights.models import AsyncScope, TeamCalendar

from .usage import TODAY, at, weekday_noon


def test_a_feature_marked_asynchronous_is_priced_at_the_batch_rate(usage, team, config):
    AsyncScope.objects.create(feature="nightly-report")
    usage.add(team, weekday_noon(), times=100, feature="nightly-report")
    usage.flush()

    [finding] = batch_detect(TODAY, config)

    # $2.25 standard against $1.125 at the row's 50% batch discount; $1.125 × 30/28.
    assert finding.monthly_saving == Decimal("1.205357143")
    assert finding.evidence["marked_asynchronous"] is True
    assert (finding.evidence["cost"], finding.evidence["cost_at_batch_rate"]) == ("2.250000000", "1.125000000")


def test_traffic_outside_working_hours_is_priced_at_the_batch_rate(usage, team, config):
    usage.add(team, at(3, hour=2), times=100, feature="reindex")
    usage.flush()

    [finding] = batch_detect(TODAY, config)

    assert finding.monthly_saving == Decimal("1.205357143")
    assert finding.evidence["off_hours_calls"] == 100


def test_interactive_traffic_in_working_hours_is_left_alone(usage, team, config):
    usage.add(team, weekday_noon(), times=100, feature="chat")
    usage.flush()

    assert batch_detect(TODAY, config) == []


def test_calls_already_on_the_batch_tier_are_left_alone(usage, team, config):
    usage.add(team, at(3, hour=2), times=100, feature="reindex", service_tier="batch")
    usage.flush()

    assert batch_detect(TODAY, config) == []


def test_outside_working_hours_is_read_on_the_owning_teams_calendar(usage, team, other_team, config):
    # Noon UTC is 21:00 in Tokyo: outside the search team's hours, inside the organisation's.
    TeamCalendar.objects.create(team=team, working_timezone="Asia/Tokyo")
    usage.add(team, weekday_noon(), times=100, feature="reindex")
    usage.add(other_team, weekday_noon(), times=100, feature="reindex")
    usage.flush()

    [finding] = batch_detect(TODAY, config)

    assert (finding.scope.team_id, finding.evidence["off_hours_calls"]) == (team.pk, 100)


def test_a_team_calendar_must_end_after_it_starts(team):
    calendar = TeamCalendar(team=team, working_hours_start=18, working_hours_end=8)
    with pytest.raises(ValidationError, match="must end after they start"):
        calendar.full_clean()
