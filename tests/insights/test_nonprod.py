from __future__ import annotations

from decimal import Decimal

from apps.insights.detectors.nonprod import nonprod_detect

from .usage import TODAY, at


def test_staging_spend_above_its_share_of_production_is_the_excess(usage, team, config):
    usage.add(team, at(2), times=100)
    usage.add(team, at(2), times=100, environment="staging")
    usage.flush()

    [finding] = nonprod_detect(TODAY, config)

    # $2.25 staging against $2.25 production; 25% ($0.5625) is allowed, $1.6875 × 30/28 is not.
    assert finding.monthly_saving == Decimal("1.808035714")
    assert finding.scope.api_key_id is None
    assert finding.evidence["non_production_cost"] == "2.250000000"


def test_a_key_with_traffic_and_no_production_use_is_found(usage, team, config):
    usage.add(team, at(2), times=400)
    usage.add(team, at(2), times=50, key="harness", environment="development")
    usage.flush()

    [finding] = nonprod_detect(TODAY, config)

    # The harness key's $1.125 in 28 days, × 30/28; the team's staging share (12.5%) is allowed.
    assert finding.scope.api_key_id == usage.key(team, "harness").pk
    assert finding.monthly_saving == Decimal("1.205357143")


def test_modest_staging_spend_is_left_alone(usage, team, config):
    usage.add(team, at(2), times=100)
    usage.add(team, at(2), times=20, environment="staging")
    usage.flush()

    assert nonprod_detect(TODAY, config) == []
