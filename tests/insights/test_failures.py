from __future__ import annotations

from decimal import Decimal

from apps.insights.detectors.failures import failures_detect

from .usage import TODAY, at


def test_paid_failed_calls_are_found_by_feature_and_key(usage, team, config):
    usage.add(team, at(2), times=100, feature="extract")
    usage.add(team, at(2), times=50, feature="extract", outcome="timeout")
    usage.flush()

    [finding] = failures_detect(TODAY, config)

    # 50 failed calls at $0.0225: $1.125 in 28 days, × 30/28.
    assert finding.monthly_saving == Decimal("1.205357143")
    assert (finding.scope.feature, finding.scope.api_key_id) == ("extract", usage.key(team).pk)
    assert finding.evidence["failed_calls"] == 50


def test_successful_calls_are_not_failures(usage, team, config):
    usage.add(team, at(2), times=100, feature="extract")
    usage.flush()

    assert failures_detect(TODAY, config) == []
