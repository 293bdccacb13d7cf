from __future__ import annotations

from decimal import Decimal

from apps.insights.detectors.drift import drift_detect

from .usage import TODAY, at


def test_a_rising_cost_per_request_is_found(usage, team, config):
    usage.add(team, at(40), times=100, feature="summary", input_tokens=1000)
    usage.add(team, at(10), times=100, feature="summary", input_tokens=2000)
    usage.flush()

    [finding] = drift_detect(TODAY, config)

    # $0.0225 a request before, $0.0375 now: 100 requests × $0.015 = $1.50, × 30/28.
    assert finding.monthly_saving == Decimal("1.607142857")
    assert (finding.evidence["cost_before"], finding.evidence["cost"]) == ("2.250000000", "3.750000000")


def test_a_steady_cost_per_request_is_left_alone(usage, team, config):
    usage.add(team, at(40), times=100, feature="summary")
    usage.add(team, at(10), times=100, feature="summary")
    usage.flush()

    assert drift_detect(TODAY, config) == []
