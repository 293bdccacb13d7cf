from __future__ import annotations

from decimal import Decimal

from apps.insights.detectors.drift import customer_drift_detect, drift_detect

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


def test_a_rising_cost_per_customer_is_found(usage, team, config):
    for n in range(5):
        usage.add(team, at(40), times=10, feature="summary", customer=f"acct-{n}")
        usage.add(team, at(10), times=20, feature="summary", customer=f"acct-{n}")
    usage.flush()

    [finding] = customer_drift_detect(TODAY, config)

    # $0.225 a customer before, $0.45 now: 5 customers × $0.225 = $1.125, × 30/28.
    assert finding.monthly_saving == Decimal("1.205357143")
    assert (finding.evidence["customers"], finding.evidence["customers_before"]) == (5, 5)


def test_a_steady_cost_per_customer_is_left_alone(usage, team, config):
    for n in range(5):
        usage.add(team, at(40), times=10, feature="summary", customer=f"acct-{n}")
        usage.add(team, at(10), times=10, feature="summary", customer=f"acct-{n}")
    usage.flush()

    assert customer_drift_detect(TODAY, config) == []
