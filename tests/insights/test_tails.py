from __future__ import annotations

from decimal import Decimal

from apps.insights.detectors.tails import p95, tails_detect

from .usage import TODAY, at


def test_the_output_tail_far_above_the_median_is_priced_beyond_the_cap(usage, team, config):
    usage.add(team, at(2), times=100, feature="chat", output_tokens=100)
    usage.add(team, at(2), times=10, feature="chat", output_tokens=5000)
    usage.flush()

    [finding] = tails_detect(TODAY, config)

    # Cap = 5 × median 100 = 500: 10 calls × 4,500 output tokens × $75/M = $3.375, × 30/28.
    assert finding.lever == "unbounded_output"
    assert (finding.evidence["p95"], finding.evidence["cap"], finding.evidence["tail_calls"]) == (5000, 500, 10)
    assert finding.monthly_saving == Decimal("3.616071429")


def test_a_bloated_context_tail_is_priced_on_its_uncached_input(usage, team, config):
    usage.add(team, at(2), times=100, feature="agent", input_tokens=1000, output_tokens=0)
    usage.add(team, at(2), times=10, feature="agent", input_tokens=100_000, output_tokens=0)
    usage.flush()

    [finding] = tails_detect(TODAY, config)

    # Cap 5,000: 10 calls × 95,000 input tokens × $15/M = $14.25, × 30/28.
    assert finding.lever == "bloated_context"
    assert finding.monthly_saving == Decimal("15.267857143")


def test_an_even_distribution_has_no_tail(usage, team, config):
    usage.add(team, at(2), times=100, feature="chat", output_tokens=100)
    usage.add(team, at(2), times=10, feature="chat", output_tokens=400)
    usage.flush()

    assert tails_detect(TODAY, config) == []


def test_p95_is_the_nearest_rank():
    assert p95(list(range(1, 101))) == 95
